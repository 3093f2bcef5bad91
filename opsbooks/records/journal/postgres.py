"""The PostgreSQL journal: a peer of the SQLite one, for a journal shared by many hosts.

Same schema (rendered with PostgreSQL's types), same SQL core, same behaviour. Each
write is its own transaction on an autocommit connection; critical sections (the lock
decision, schema creation) are made exclusive across processes and hosts by a
transaction-scoped advisory lock, released at COMMIT or ROLLBACK. psycopg is imported
here only, and only when a PostgreSQL journal is opened, so SQLite users never need it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opsbooks.errors import JournalError
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import schema
from opsbooks.records.journal.dialect import Cursor, Statement
from opsbooks.records.journal.sql import SqlJournal

__all__ = ["PostgresDialect", "open_postgres", "redact"]


def redact(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def advisory_key(name: str) -> int:
    """The advisory lock key of ``name``: a stable 32-bit number, as earlier versions used."""
    return zlib.crc32(name.encode()) - 2**31


class PostgresDialect:
    """PostgreSQL's side of :class:`opsbooks.records.journal.dialect.Dialect`."""

    kind = "a PostgreSQL database"
    placeholder = "%s"
    types: Mapping[schema.Type, str] = {
        schema.Type.TEXT: "TEXT",
        schema.Type.INTEGER: "INTEGER",
        schema.Type.REAL: "DOUBLE PRECISION",
        schema.Type.SERIAL: "BIGSERIAL PRIMARY KEY",
    }
    begin = "BEGIN"
    #: the server's clock: every host's beats and judgements read the same one
    now = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"

    def exclusive(self, name: str) -> Sequence[Statement]:
        return (("SELECT pg_advisory_xact_lock(%s)", (advisory_key(name),)),)

    def upsert(self, table: schema.Table, key: str) -> str:
        marks = ",".join(["%s"] * len(table.columns))
        updates = ", ".join(f"{c}=EXCLUDED.{c}" for c in table.names if c != key)
        return (
            f"INSERT INTO {table.name} ({', '.join(table.names)}) VALUES ({marks})"
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
        )

    def list_tables(self) -> str:
        return (
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )

    def check_storage(self) -> str:
        return "SELECT 'ok'"  # the server keeps its own storage sound; reaching it is the check


class _Connection:
    """A psycopg connection whose lost-server errors are a ``JournalError``."""

    def __init__(self, conn: Any, where: str) -> None:
        self.conn = conn
        self.where = where

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Cursor:
        import psycopg

        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(params))
        except psycopg.OperationalError as exc:
            raise JournalError(
                f"lost the journal database {self.where} mid-run ({str(exc).strip()}); "
                f"the last step recorded is safe. Restore the connection, then resume the run."
            ) from None
        return cur  # type: ignore[no-any-return]

    def barrier(self) -> None:
        """Nothing to do: the server made each commit durable before it answered."""

    def close(self) -> None:
        self.conn.close()


def open_postgres(
    url: str, *, identity: HostIdentity | None = None, lease: float | None = None
) -> SqlJournal:
    """Connect to the journal database at ``url`` and create its tables if needed."""
    import psycopg

    where = redact(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise _unreachable(url, where, exc) from None
    journal = SqlJournal(
        PostgresDialect(), _Connection(conn, where), where=where, identity=identity, lease=lease
    )
    try:
        journal.migrate()
    except psycopg.Error as exc:
        conn.close()
        raise JournalError(
            f"the PostgreSQL journal {where} cannot be read ({exc}). It was not changed."
        ) from None
    except BaseException:
        conn.close()
        raise
    return journal


def _unreachable(url: str, where: str, exc: Exception) -> JournalError:
    parts = urlsplit(url)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return JournalError(
        f"cannot connect to the PostgreSQL journal {where} (host {parts.hostname}, "
        f"database {parts.path.lstrip('/') or '?'}): {detail.replace(url, where)}. "
        f"Check that the server is running and reachable, the user and password are "
        f"right, and the database exists (createdb it), or point `journal` in the "
        f"configuration elsewhere. Nothing has run."
    )
