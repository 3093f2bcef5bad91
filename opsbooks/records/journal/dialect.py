"""What a SQL backend supplies to the shared journal core: a dialect and a connection.

The journal's SQL is written once, in :mod:`opsbooks.records.journal.sql`, with the
dialect's placeholder. What SQLite and PostgreSQL do their own way is named here, as
one small protocol each backend implements (``SqliteDialect``, ``PostgresDialect``): a
backend is a dialect plus a connection, composed into ``SqlJournal``, never a subclass
of another backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from opsbooks.records.journal import schema

__all__ = ["Connection", "Cursor", "Dialect", "Statement"]

#: One SQL statement and its parameters.
Statement = tuple[str, tuple[Any, ...]]


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """A DB-API-like connection in autocommit mode whose errors are already mapped.

    A backend wraps its driver's connection so a lost server or a full disk becomes a
    ``JournalError`` here, once, at the boundary.
    """

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor: ...

    def barrier(self) -> None:
        """Make every commit so far safe to act on (SQLite: sync the seal; see
        ``sqlite_seal``); a commit is durable on its own, this is what detects its loss."""
        ...

    def close(self) -> None: ...


class Dialect(Protocol):
    """What one SQL database does its own way; everything else is shared."""

    @property
    def kind(self) -> str:
        """How messages name the database: ``an SQLite database``."""
        ...

    @property
    def placeholder(self) -> str:
        """The driver's parameter marker: ``?`` or ``%s``."""
        ...

    @property
    def types(self) -> Mapping[schema.Type, str]:
        """The SQL name of each abstract column type of the schema."""
        ...

    @property
    def begin(self) -> str:
        """The statement that opens a write transaction."""
        ...

    @property
    def now(self) -> str:
        """An SQL expression of the database's clock, in seconds since the epoch."""
        ...

    def exclusive(self, name: str) -> Sequence[Statement]:
        """Statements that make the rest of the open transaction exclusive on ``name``
        across processes (none where ``begin`` already takes a database-wide lock)."""
        ...

    def upsert(self, table: schema.Table, key: str) -> str:
        """Insert a full row of ``table``, replacing the row with the same ``key``."""
        ...

    def list_tables(self) -> str:
        """A query of the names of the user tables where the journal's tables live."""
        ...

    def check_storage(self) -> str:
        """A query whose first value is ``ok`` when the storage is sound."""
        ...
