"""The PostgreSQL journal backend: same schema, same behaviour as the SQLite journal.

The SQL of :class:`opsbooks.records.journal.sqlite.Journal` is reused through a thin connection
adapter (``?`` placeholders become ``%s``; SQLite-only statements are rewritten).
psycopg is imported here only, so SQLite users never need it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from opsbooks.errors import JournalError
from opsbooks.records.journal.sqlite import SCHEMA_VERSION, Journal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, runbook TEXT NOT NULL, fingerprint TEXT NOT NULL,
    params TEXT NOT NULL, options TEXT NOT NULL, who TEXT NOT NULL, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started_at DOUBLE PRECISION NOT NULL, ended_at DOUBLE PRECISION,
    outcome TEXT NOT NULL, failed_step TEXT, reason TEXT, audit_head TEXT,
    metrics TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_by_runbook ON runs (runbook, started_at);
CREATE TABLE IF NOT EXISTS transitions (
    seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL, status TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, duration DOUBLE PRECISION,
    output_tail TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS transitions_by_run ON transitions (run_id, seq);
CREATE TABLE IF NOT EXISTS gates (
    seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL, mode TEXT NOT NULL, prompt TEXT NOT NULL, answer TEXT NOT NULL,
    approver TEXT NOT NULL, source TEXT NOT NULL, asked_at DOUBLE PRECISION NOT NULL,
    answered_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS host_results (
    seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL, host TEXT NOT NULL, ok INTEGER NOT NULL, exit_code INTEGER,
    duration DOUBLE PRECISION, output_tail TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '', at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS locks (
    runbook TEXT PRIMARY KEY, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, acquired_at DOUBLE PRECISION NOT NULL
);
"""

_REWRITES = {
    "INSERT OR REPLACE INTO locks VALUES (?,?,?,?,?)": (
        "INSERT INTO locks VALUES (%s,%s,%s,%s,%s) ON CONFLICT (runbook) DO UPDATE SET"
        " run_id=EXCLUDED.run_id, pid=EXCLUDED.pid, host=EXCLUDED.host,"
        " acquired_at=EXCLUDED.acquired_at"
    ),
}


def redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


class _Connection:
    """Let the SQLite journal's SQL run on a psycopg connection."""

    def __init__(self, conn: Any, where: str = "") -> None:
        self.conn = conn
        self.where = where

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        import psycopg

        sql = _REWRITES.get(sql, sql).replace("?", "%s")
        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(args))
        except psycopg.OperationalError as exc:
            raise JournalError(
                f"lost the journal database {self.where} mid-run ({str(exc).strip()}); "
                f"the last step recorded is safe. Restore the connection, then resume the run."
            ) from None
        return cur

    def close(self) -> None:
        self.conn.close()


class PostgresJournal(Journal):
    """PostgreSQL journal; autocommit connection, each write its own transaction."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.url = url
        where = redact(url)
        self.path = cast(Path, where)  # only used in messages
        parts = urlsplit(url)
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise JournalError(
                f"cannot connect to the PostgreSQL journal {where} (host {parts.hostname}, "
                f"database {parts.path.lstrip('/') or '?'}): {detail.replace(url, where)}. "
                f"Check that the server is running and reachable, the user and password are "
                f"right, and the database exists (createdb it), or point `journal` in the "
                f"configuration elsewhere. Nothing has run."
            ) from None
        self._db = cast(Any, _Connection(conn, where))
        try:
            self._migrate()
        except psycopg.Error as exc:
            conn.close()
            raise JournalError(
                f"the PostgreSQL journal {where} cannot be read ({exc}). It was not changed."
            ) from None

    def _tables(self) -> set[str]:
        rows = self._db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
        return {r[0] for r in rows}

    def _migrate(self) -> None:
        tables = self._tables()
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal at {self.path} has schema version {version}, newer than "
                    f"this opsbooks understands ({SCHEMA_VERSION}). Upgrade opsbooks; the "
                    f"journal was not touched."
                )
        elif tables:
            raise JournalError(
                f"{self.path} is a PostgreSQL database but not an opsbooks journal "
                f"(tables: {', '.join(sorted(tables))}). Point `journal` elsewhere."
            )
        with self._tx():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_key("opsbooks:schema"),))
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(
                "INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE"
                " SET value=EXCLUDED.value",
                (str(SCHEMA_VERSION),),
            )

    _BEGIN = "BEGIN"

    def acquire_lock(self, runbook: str, run_id: str, *, at: float, force: bool = False) -> None:
        """Take the runbook's lock, serialized across processes by an advisory lock."""
        key = _key("opsbooks:lock:" + runbook)
        self._db.execute("SELECT pg_advisory_lock(%s)", (key,))
        try:
            super().acquire_lock(runbook, run_id, at=at, force=force)
        finally:
            self._db.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def integrity_check(self) -> str:
        self._db.execute("SELECT 1").fetchone()
        if "meta" not in self._tables():
            return f"{self.path}: meta table missing"
        return "ok"


def _key(name: str) -> int:
    return zlib.crc32(name.encode()) - 2**31
