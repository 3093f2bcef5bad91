"""The journal's one schema, as data: tables, columns with abstract types, indexes, version.

Each backend renders it with its dialect's type names (:func:`create_statements`), so
SQLite and PostgreSQL cannot drift apart. The table and column names are the stored
format: journals written by earlier versions open because they are unchanged. A change
here bumps :data:`SCHEMA_VERSION`, and an opened older journal is brought up to it by
re-running the idempotent ``CREATE ... IF NOT EXISTS`` statements (a new table or index);
a change to an existing table needs its own migration step in ``SqlJournal.migrate``.
A new table alone (``facts``) is like a new index: an older opsbooks never reads it.
A new index alone changes no stored row and an older opsbooks reads and writes the
journal as before (the database keeps the index up to date), so it keeps the version:
bumping it would make older versions refuse a journal they can use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "INDEXES",
    "SCHEMA_VERSION",
    "TABLES",
    "Column",
    "Index",
    "Table",
    "Type",
    "create_statements",
    "table",
]

#: The version stored in ``meta.schema_version``; a journal with a higher one is refused.
SCHEMA_VERSION = 1


class Type(Enum):
    """Abstract column types; a dialect names each one in its own SQL."""

    TEXT = "text"
    INTEGER = "integer"
    REAL = "real"
    #: An integer primary key the database assigns in increasing order (``seq``).
    SERIAL = "serial"


@dataclass(frozen=True)
class Column:
    name: str
    type: Type
    null: bool = False
    primary_key: bool = False
    default: str | None = None
    references: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]


def _text(name: str, *, null: bool = False, default: str | None = None) -> Column:
    return Column(name, Type.TEXT, null=null, default=default)


def _seq() -> Column:
    return Column("seq", Type.SERIAL, primary_key=True)


def _run_id() -> Column:
    return Column("run_id", Type.TEXT, references="runs (id)")


TABLES: tuple[Table, ...] = (
    Table("meta", (Column("key", Type.TEXT, primary_key=True), _text("value"))),
    Table(
        "runs",
        (
            Column("id", Type.TEXT, primary_key=True),
            _text("runbook"),
            _text("fingerprint"),
            _text("params"),
            _text("options"),
            _text("who"),
            _text("host"),
            Column("pid", Type.INTEGER),
            Column("started_at", Type.REAL),
            Column("ended_at", Type.REAL, null=True),
            _text("outcome"),
            _text("failed_step", null=True),
            _text("reason", null=True),
            _text("audit_head", null=True),
            _text("metrics", default="'{}'"),
        ),
    ),
    Table(
        "transitions",
        (
            _seq(),
            _run_id(),
            _text("step_id"),
            _text("status"),
            Column("at", Type.REAL),
            Column("attempt", Type.INTEGER, default="0"),
            Column("exit_code", Type.INTEGER, null=True),
            Column("duration", Type.REAL, null=True),
            _text("output_tail", default="''"),
            _text("reason", default="''"),
            _text("who", default="''"),
            _text("detail", default="'{}'"),
        ),
    ),
    Table(
        "gates",
        (
            _seq(),
            _run_id(),
            _text("step_id"),
            _text("mode"),
            _text("prompt"),
            _text("answer"),
            _text("approver"),
            _text("source"),
            Column("asked_at", Type.REAL),
            Column("answered_at", Type.REAL),
        ),
    ),
    Table(
        "host_results",
        (
            _seq(),
            _run_id(),
            _text("step_id"),
            _text("host"),
            Column("ok", Type.INTEGER),
            Column("exit_code", Type.INTEGER, null=True),
            Column("duration", Type.REAL, null=True),
            _text("output_tail", default="''"),
            _text("error", default="''"),
            Column("at", Type.REAL),
        ),
    ),
    # named facts a run established (incident milestones, values), for reports and stats;
    # a new table, like a new index, keeps the version: older versions never read it
    Table(
        "facts",
        (
            _seq(),
            _run_id(),
            _text("step_id"),
            _text("name"),
            _text("value"),
            Column("at", Type.REAL),
            _text("who", default="''"),
        ),
    ),
    # signed approvals of gates (issue 16): every decision, accepted or refused, and
    # the waiting run's request; a new table, so the version stays
    Table(
        "approvals",
        (
            _seq(),
            _run_id(),
            _text("step_id"),
            _text("decision"),
            _text("principal"),
            _text("reason", default="''"),
            _text("payload", default="''"),
            _text("signature", default="''"),
            Column("accepted", Type.INTEGER),
            _text("why", default="''"),
            Column("at", Type.REAL),
        ),
    ),
    Table(
        "locks",
        (
            Column("runbook", Type.TEXT, primary_key=True),
            _text("run_id"),
            Column("pid", Type.INTEGER),
            _text("host"),
            Column("acquired_at", Type.REAL),
        ),
    ),
    # a lock's lease (issue 16): the holder's runner renews beat_at (the journal's own
    # clock) while it runs; a lock without a row behaves as before. A new table: same version
    Table(
        "lock_leases",
        (
            Column("runbook", Type.TEXT, primary_key=True),
            _text("run_id"),
            _text("host"),
            Column("beat_at", Type.REAL),
            Column("lease_s", Type.REAL),
        ),
    ),
)

INDEXES: tuple[Index, ...] = (
    Index("runs_by_runbook", "runs", ("runbook", "started_at")),
    Index("transitions_by_run", "transitions", ("run_id", "seq")),
    # the latest status of one step (``SqlJournal.step_status``, before every transition):
    # without it each lookup scans the run's transitions, and a long run goes quadratic
    Index("transitions_by_step", "transitions", ("run_id", "step_id", "seq")),
    Index("facts_by_run", "facts", ("run_id", "seq")),
    Index("approvals_by_gate", "approvals", ("run_id", "step_id", "seq")),
)


def table(name: str) -> Table:
    """Return the table called ``name``."""
    for t in TABLES:
        if t.name == name:
            return t
    raise KeyError(name)


def _column(column: Column, types: Mapping[Type, str]) -> str:
    parts = [column.name, types[column.type]]
    if column.primary_key and column.type is not Type.SERIAL:
        parts.append("PRIMARY KEY")
    if not column.null and not column.primary_key:
        parts.append("NOT NULL")
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if column.references is not None:
        parts.append(f"REFERENCES {column.references}")
    return " ".join(parts)


def create_statements(types: Mapping[Type, str]) -> list[str]:
    """Render every table and index as ``CREATE ... IF NOT EXISTS`` in one dialect.

    ``types`` names each abstract type; the one for :attr:`Type.SERIAL` is the whole
    key clause (``INTEGER PRIMARY KEY AUTOINCREMENT``, ``BIGSERIAL PRIMARY KEY``).
    """
    statements = [
        f"CREATE TABLE IF NOT EXISTS {t.name} ("
        + ", ".join(_column(c, types) for c in t.columns)
        + ")"
        for t in TABLES
    ]
    statements += [
        f"CREATE INDEX IF NOT EXISTS {i.name} ON {i.table} ({', '.join(i.columns)})"
        for i in INDEXES
    ]
    return statements
