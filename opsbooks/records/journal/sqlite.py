"""The SQLite journal: a file next to the project, the default.

Durability: WAL mode with ``synchronous=FULL``, and every write its own committed
transaction, so a transition the runner has written survives a crash (or power loss)
before the next step starts. A WAL lost after a crash is detected at open by the
journal's seal (``sqlite_seal``), not prevented by a checkpoint after every commit.
``BEGIN IMMEDIATE`` takes SQLite's write lock up front, which makes every transaction
exclusive across processes: a read-then-write (the lock decision) cannot race or
deadlock.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opsbooks.errors import JournalError
from opsbooks.records.files import private_dir, private_file, tighten_existing
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import schema
from opsbooks.records.journal.dialect import Cursor, Statement
from opsbooks.records.journal.sql import SqlJournal
from opsbooks.records.journal.sqlite_seal import BUMP, Seal, check_seal, journal_id, seal_path

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
    #: the clock of the machine that writes (SQLite has no server); sub-second
    now = "((julianday('now') - 2440587.5) * 86400.0)"

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


def _failed(where: str, exc: Exception) -> JournalError:
    """An sqlite3 failure in words: a damaged file, or a write that could not be made."""
    if isinstance(exc, UnicodeDecodeError | sqlite3.DatabaseError) and not isinstance(
        exc, sqlite3.OperationalError
    ):
        return _unreadable(Path(where), exc)
    if "decode" in str(exc) or "malformed" in str(exc):
        return _unreadable(Path(where), exc)
    return JournalError(
        f"the journal at {where} failed ({exc}); what it recorded before is safe. "
        f"Fix the cause (disk space, permissions, another process holding it), then "
        f"resume the run (`opsbooks history` lists it)."
    )


class _Cursor:
    """A cursor whose fetches map damaged rows to a ``JournalError`` too."""

    def __init__(self, cursor: sqlite3.Cursor, where: str) -> None:
        self._cursor = cursor
        self._where = where

    def fetchone(self) -> Any:
        try:
            return self._cursor.fetchone()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise _failed(self._where, exc) from None

    def fetchall(self) -> list[Any]:
        try:
            return self._cursor.fetchall()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise _failed(self._where, exc) from None


class _Connection:
    """An sqlite3 connection whose operational failures are a ``JournalError``."""

    def __init__(self, db: sqlite3.Connection, where: str) -> None:
        self.db = db
        self.where = where
        self.seal: Seal | None = None  # set once the journal is open and checked

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        try:
            if sql != "COMMIT" or self.seal is None:
                return _Cursor(self.db.execute(sql, params), self.where)
            # Count the transaction in it, commit, then seal the count outside the WAL:
            # a WAL lost after a crash is refused at open. The seal is synced at the
            # journal's barriers only (`barrier`, and see `sqlite_seal`).
            count = int(self.db.execute(BUMP).fetchone()[0])
            cursor = _Cursor(self.db.execute(sql), self.where)
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise _failed(self.where, exc) from None
        try:
            self.seal.write(count)
        except OSError as exc:
            raise _failed(f"{self.seal.path}", exc) from None
        return cursor

    def barrier(self) -> None:
        """Make the seal of every commit so far durable: something will act on them."""
        if self.seal is None:
            return
        try:
            self.seal.sync()
        except OSError as exc:
            raise _failed(f"{self.seal.path}", exc) from None

    def close(self) -> None:
        """Seal what was committed, copy what is left of the WAL into the main file, close."""
        try:
            self.barrier()
        finally:
            with contextlib.suppress(sqlite3.Error):  # a busy or read-only file keeps its WAL
                self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self.db.close()
            if self.seal is not None:
                self.seal.close()


def open_sqlite(
    path: Path, *, identity: HostIdentity | None = None, lease: float | None = None
) -> SqlJournal:
    """Open (creating if needed) the journal file at ``path``; refuse a file it cannot use."""
    _private(path)
    try:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.DatabaseError as exc:
        raise _unreadable(path, exc) from None
    connection = _Connection(db, str(path))
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        _check_storage(db, path)
        journal = SqlJournal(
            SqliteDialect(), connection, where=str(path), identity=identity, lease=lease
        )
        journal.migrate()
        connection.seal = Seal(seal_path(path), journal_id(db))
        check_seal(db, connection.seal, str(path))
    except BaseException as exc:
        db.close()
        if connection.seal is not None:
            connection.seal.close()
        if isinstance(exc, sqlite3.Error | UnicodeDecodeError):
            raise _unreadable(path, exc) from None
        raise
    return journal


def _private(path: Path) -> None:
    """The journal and its -wal/-shm/-seal files: 0600, in a 0700 folder, never via a symlink.

    SQLite creates -wal and -shm with the mode of the database file, so creating that
    one 0600 first makes all three private.
    """
    try:
        private_dir(path.parent)
    except OSError as exc:
        raise JournalError(f"cannot create the folder of the journal {path}: {exc}") from None
    for suffix in ("-wal", "-shm", "-journal", "-seal"):
        tighten_existing(Path(f"{path}{suffix}"), "journal file")
    if os.path.lexists(path):
        tighten_existing(path, "journal")
    else:
        private_file(path, "journal")


#: On open, ``PRAGMA integrity_check`` (indexes against tables too) below the first
#: size and ``quick_check`` below the second: both read the whole file, cheap here.
INTEGRITY_CHECK_BYTES = 16 * 1024 * 1024
QUICK_CHECK_BYTES = 64 * 1024 * 1024


def _check_storage(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file on open, before any command reads or writes it."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    if size > QUICK_CHECK_BYTES:
        return
    pragma = "integrity_check" if size <= INTEGRITY_CHECK_BYTES else "quick_check"
    rows = db.execute(f"PRAGMA {pragma}").fetchall()
    found = "; ".join(str(row[0]) for row in rows[:3])
    if found != "ok":
        raise JournalError(
            f"the journal at {path} is damaged (integrity check: {found}). Nothing was "
            f"changed. Keep a copy, then try `sqlite3 {path} .recover | sqlite3 "
            f"{path}.recovered` and point `journal` at the recovered file, or move it "
            f"aside to start a fresh journal."
        )


def _unreadable(path: Path, exc: Exception) -> JournalError:
    return JournalError(
        f"the journal at {path} cannot be read ({exc}). It is not overwritten: "
        f"move it aside to start a fresh journal, or point `journal` in the "
        f"configuration at another file."
    )
