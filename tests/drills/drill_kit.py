"""Both engines behind one small interface, for the DR drills (on sys.path under pytest).

Make a database with an ``events(id, payload, written_at)`` table, write rows, read
them back, destroy it: a SQLite file under a temp dir, or a database on the session's
real PostgreSQL server.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from opsbooks.testing.postgres import PostgresServer

Row = tuple[int, str, str]


class Engine(Protocol):
    """One database engine, as a drill needs it."""

    name: str

    def url(self, db: str) -> str: ...
    def create(self, db: str) -> str: ...
    def write(self, url: str, rows: Sequence[Row]) -> None: ...
    def rows(self, url: str) -> list[Row]: ...
    def tables(self, url: str) -> list[str]: ...
    def exists(self, url: str) -> bool: ...
    def destroy(self, url: str) -> None: ...

    watermark_sql: str
    #: How the backup manifest names the events table (PostgreSQL qualifies it).
    events_table: str


@dataclass
class SqliteEngine:
    """Databases are files under ``root``; destroying one deletes the file."""

    root: Path
    name: str = "sqlite"
    watermark_sql: str = "SELECT max(written_at) FROM events"
    events_table: str = "events"

    def _path(self, url: str) -> Path:
        return Path("/" + url.removeprefix("sqlite://").lstrip("/"))

    def url(self, db: str) -> str:
        return f"sqlite:///{self.root / (db + '.db')}"

    def create(self, db: str) -> str:
        url = self.url(db)
        self._path(url).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self._path(url)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, "
                "written_at TEXT NOT NULL)"
            )
        return url

    def write(self, url: str, rows: Sequence[Row]) -> None:
        conn = sqlite3.connect(self._path(url))
        try:
            with conn:
                conn.executemany("INSERT INTO events VALUES (?, ?, ?)", rows)
        finally:
            conn.close()

    def _query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self._path(url)}?mode=ro", uri=True)
        try:
            return list(conn.execute(sql))
        finally:
            conn.close()

    def rows(self, url: str) -> list[Row]:
        found = self._query(url, "SELECT id, payload, written_at FROM events ORDER BY id")
        return [(int(i), str(p), str(w)) for i, p, w in found]

    def tables(self, url: str) -> list[str]:
        found = self._query(
            url, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        return [str(row[0]) for row in found]

    def exists(self, url: str) -> bool:
        return self._path(url).exists()

    def destroy(self, url: str) -> None:
        path = self._path(url)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


@dataclass
class PostgresEngine:
    """Databases on the session's real server; destroying one is ``DROP DATABASE``."""

    server: PostgresServer
    prefix: str
    name: str = "postgresql"
    # timestamptz, read back as ISO 8601 UTC so the manifest's last_write_at is exact
    watermark_sql: str = (
        "SELECT to_char(max(written_at) AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\') FROM events'
    )
    events_table: str = "public.events"

    def _db(self, url: str) -> str:
        return url.rsplit("/", 1)[1]

    def url(self, db: str) -> str:
        return self.server.url_for(f"{self.prefix}_{db}")

    def create(self, db: str) -> str:
        url = self.url(db)
        self.server.createdb(self._db(url))
        self.server.psql(
            "CREATE TABLE events (id integer PRIMARY KEY, payload text NOT NULL, "
            "written_at timestamptz NOT NULL)",
            self._db(url),
        )
        return url

    def write(self, url: str, rows: Sequence[Row]) -> None:
        values = ", ".join(f"({i}, '{p}', '{w}')" for i, p, w in rows)
        self.server.psql(f"INSERT INTO events VALUES {values}", self._db(url))

    def rows(self, url: str) -> list[Row]:
        out = self.server.psql(
            "SELECT id, payload, to_char(written_at AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\') FROM events ORDER BY id',
            self._db(url),
        )
        found = [line.split("|") for line in out.splitlines() if line]
        return [(int(i), p, w) for i, p, w in found]

    def tables(self, url: str) -> list[str]:
        out = self.server.psql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
            self._db(url),
        )
        return [line for line in out.splitlines() if line]

    def exists(self, url: str) -> bool:
        name = self._db(url)
        return self.server.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "1"

    def destroy(self, url: str) -> None:
        self.server.dropdb(self._db(url))

    def cleanup(self) -> None:
        listed = self.server.psql(
            f"SELECT datname FROM pg_database WHERE datname LIKE '{self.prefix}\\_%'"
        )
        for name in listed.splitlines():
            self.server.dropdb(name)
