"""The SQLite journal: a file next to the project, the default.

Durability: WAL mode with ``synchronous=FULL``, and every write its own committed
transaction, so a transition the runner has written survives a crash (or power loss)
before the next step starts. ``BEGIN IMMEDIATE`` takes SQLite's write lock up front,
which makes every transaction exclusive across processes: a read-then-write (the lock
decision) cannot race or deadlock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opsbooks.errors import JournalError
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import schema
from opsbooks.records.journal.dialect import Cursor, Statement
from opsbooks.records.journal.sql import SqlJournal

__all__ = ["SqliteDialect", "open_sqlite", "sqlite_path"]


def sqlite_path(url: str) -> Path:
    """Accept ``sqlite:///abs/path``, ``sqlite:///rel/path`` or a bare path."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    if "://" in url:
        raise JournalError(
            f"journal URL {url!r} is not supported; use sqlite:///PATH or "
            f"postgresql://USER@HOST:PORT/DB "
            f"(set `journal` in the opsbooks configuration)"
        )
    return Path(url)


class SqliteDialect:
    """SQLite's side of :class:`opsbooks.records.journal.dialect.Dialect`."""

    kind = "an SQLite database"
    placeholder = "?"
    types: Mapping[schema.Type, str] = {
        schema.Type.TEXT: "TEXT",
        schema.Type.INTEGER: "INTEGER",
        schema.Type.REAL: "REAL",
        schema.Type.SERIAL: "INTEGER PRIMARY KEY AUTOINCREMENT",
    }
    #: IMMEDIATE takes the database's write lock up front, for every transaction.
    begin = "BEGIN IMMEDIATE"

    def exclusive(self, name: str) -> Sequence[Statement]:
        return ()  # BEGIN IMMEDIATE already excludes every other writer

    def upsert(self, table: schema.Table, key: str) -> str:
        marks = ",".join("?" * len(table.columns))
        return f"INSERT OR REPLACE INTO {table.name} ({', '.join(table.names)}) VALUES ({marks})"

    def list_tables(self) -> str:
        return (
            "SELECT name FROM sqlite_master WHERE type='table'"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )

    def check_storage(self) -> str:
        return "PRAGMA integrity_check"


class _Connection:
    """An sqlite3 connection whose operational failures are a ``JournalError``."""

    def __init__(self, db: sqlite3.Connection, where: str) -> None:
        self.db = db
        self.where = where

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        try:
            return self.db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            raise JournalError(
                f"the journal at {self.where} failed mid-run ({exc}); the last step "
                f"recorded is safe. Fix the cause (disk space, permissions, another "
                f"process holding it), then resume the run."
            ) from None

    def close(self) -> None:
        self.db.close()


def open_sqlite(path: Path, *, identity: HostIdentity | None = None) -> SqlJournal:
    """Open (creating if needed) the journal file at ``path``; refuse a file it cannot use."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from None
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        journal = SqlJournal(
            SqliteDialect(), _Connection(db, str(path)), where=str(path), identity=identity
        )
        journal.migrate()
    except BaseException as exc:
        db.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise _unreadable(path, exc) from None
        raise
    return journal


def _unreadable(path: Path, exc: sqlite3.DatabaseError) -> JournalError:
    return JournalError(
        f"the journal at {path} cannot be read ({exc}). It is not overwritten: "
        f"move it aside to start a fresh journal, or point `journal` in the "
        f"configuration at another file."
    )
