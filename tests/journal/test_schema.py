"""One schema, rendered per dialect; journals written by the previous version still open."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from pathlib import Path

import pytest

from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import (
    ApprovalRecord,
    FactRecord,
    GateRecord,
    HostRecord,
    LockHolder,
    RunRecord,
    Transition,
    open_journal,
)
from opsbooks.records.journal.postgres import PostgresDialect
from opsbooks.records.journal.schema import (
    INDEXES,
    SCHEMA_VERSION,
    TABLES,
    Type,
    create_statements,
    table,
)
from opsbooks.records.journal.sqlite import SqliteDialect
from opsbooks.testing.fakes import FakeIdentity
from opsbooks.testing.postgres import PostgresServer

V1_DUMP = Path(__file__).with_name("journal_v1.sql")
OLD_RUN, NEW_RUN = "20260101-000000-aaaa", "20260102-000000-bbbb"


def _abstract(statement: str, types: dict[Type, str]) -> str:
    """Name the dialect's types abstractly again (the whole key clause first)."""
    for kind in sorted(types, key=lambda k: -len(types[k])):
        statement = statement.replace(types[kind], f"<{kind.value}>")
    return statement


def test_both_dialects_render_the_one_schema() -> None:
    lite, pg = dict(SqliteDialect.types), dict(PostgresDialect.types)
    assert set(lite) == set(pg) == set(Type)
    ours, theirs = create_statements(lite), create_statements(pg)
    assert len(ours) == len(theirs) == len(TABLES) + len(INDEXES)
    assert [_abstract(s, lite) for s in ours] == [_abstract(s, pg) for s in theirs]
    assert "AUTOINCREMENT" not in " ".join(theirs) and " REAL" not in " ".join(theirs)
    assert "BIGSERIAL PRIMARY KEY" in " ".join(theirs) and "DOUBLE PRECISION" in " ".join(theirs)
    assert "seq INTEGER PRIMARY KEY AUTOINCREMENT" in " ".join(ours)


@pytest.mark.parametrize(
    ("record", "name"),
    [
        (RunRecord, "runs"),
        (Transition, "transitions"),
        (GateRecord, "gates"),
        (HostRecord, "host_results"),
        (FactRecord, "facts"),
        (ApprovalRecord, "approvals"),
    ],
)
def test_every_record_field_is_a_column(record: type, name: str) -> None:
    assert {f.name for f in fields(record)} <= set(table(name).names)


def _shape(path: Path) -> dict[str, object]:
    """Columns (name, type, not null, default, key), foreign keys and indexes, per table."""
    db = sqlite3.connect(path)
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    shape: dict[str, object] = {}
    for name in sorted(set(names) - {"sqlite_sequence"}):
        columns = [r[1:] for r in db.execute(f"PRAGMA table_info({name})")]
        keys = [r[2:5] for r in db.execute(f"PRAGMA foreign_key_list({name})")]
        indexes = {
            r[1]: [c[2] for c in db.execute(f"PRAGMA index_info({r[1]})")]
            for r in db.execute(f"PRAGMA index_list({name})")
        }
        shape[name] = (columns, keys, indexes)
    autoincrement = db.execute(
        "SELECT count(*) FROM sqlite_master WHERE sql LIKE '%AUTOINCREMENT%'"
    ).fetchone()
    db.close()
    shape["autoincrement tables"] = autoincrement
    return shape


def _v1_journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal.db"
    db = sqlite3.connect(path)
    db.executescript(V1_DUMP.read_text(encoding="utf-8"))
    db.close()
    return path


#: Indexes added since the previous version: an opened older journal gets them.
NEW_INDEXES = {"transitions_by_step": ["run_id", "step_id", "seq"]}
#: Tables added since (an older opsbooks never reads them): an opened journal gets them.
NEW_TABLES = ("facts", "approvals", "lock_leases")
#: Those of them keyed by an autoincrement ``seq`` (``lock_leases`` is keyed by runbook).
NEW_SERIAL_TABLES = ("facts", "approvals")


def _without_new_indexes(shape: dict[str, object]) -> dict[str, object]:
    columns, keys, indexes = shape["transitions"]  # type: ignore[misc]
    kept = {k: v for k, v in indexes.items() if k not in NEW_INDEXES}
    older = {k: v for k, v in shape.items() if k not in NEW_TABLES}
    (serial_tables,) = shape["autoincrement tables"]  # type: ignore[misc]
    older["autoincrement tables"] = (serial_tables - len(NEW_SERIAL_TABLES),)
    return {**older, "transitions": (columns, keys, kept)}


def test_a_fresh_journal_has_the_previous_versions_shape(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh" / "journal.db"
    open_journal(f"sqlite:///{fresh}").close()
    old = _v1_journal(tmp_path)
    assert _without_new_indexes(_shape(fresh)) == _shape(old)  # the same tables, columns
    open_journal(f"sqlite:///{old}").close()
    assert _shape(fresh) == _shape(old), "opening the older journal adds the new indexes, tables"
    transitions = _shape(old)["transitions"]
    assert NEW_INDEXES.items() <= transitions[2].items()  # type: ignore[index]


def test_a_steps_latest_status_is_read_through_the_index(tmp_path: Path) -> None:
    path = _v1_journal(tmp_path)
    open_journal(f"sqlite:///{path}").close()
    db = sqlite3.connect(path)
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT status FROM transitions WHERE run_id=? AND step_id=?"
        " ORDER BY seq DESC LIMIT 1",
        (OLD_RUN, "build"),
    ).fetchall()
    db.close()
    assert "USING INDEX transitions_by_step" in " ".join(str(row[-1]) for row in plan)


def test_a_journal_of_the_previous_version_opens(tmp_path: Path) -> None:
    path = _v1_journal(tmp_path)
    j = open_journal(f"sqlite:///{path}", identity=FakeIdentity("ops1", pid=9000))
    old = j.get_run(OLD_RUN[:18])  # a unique prefix
    assert (old.outcome, old.failed_step, old.metrics) == ("failed", "deploy", {"steps": 2})
    assert old.params == {"env": "prod"} and old.duration == pytest.approx(8.75)
    assert old.audit_head == "ab" * 32
    assert [r.id for r in j.runs("demo.book")] == [NEW_RUN, OLD_RUN]
    assert j.get_run("last").id == NEW_RUN
    assert j.step_states(OLD_RUN) == {"build": StepStatus.SUCCEEDED, "deploy": StepStatus.FAILED}
    built = j.transitions(OLD_RUN)[1]
    assert (built.seq, built.duration, built.detail) == (2, 1.5, {"outputs": {"version": "1.2"}})
    assert j.answers(OLD_RUN) == {"approve": True} and j.gates(OLD_RUN)[0].approver == "bob"
    assert [(h.host, h.ok, h.error) for h in j.host_results(OLD_RUN, "deploy")] == [
        ("web1", True, ""),
        ("web2", False, "unreachable"),
    ]
    assert j.lock_holder("demo.book") == LockHolder(NEW_RUN, 4343, "ops1", 1767312000.0)
    assert j.integrity_check() == "ok"
    # and it keeps working: the crashed holder's lock is resumed, numbering continues
    j.acquire_lock("demo.book", NEW_RUN, at=1767312100.0)
    j.record(NEW_RUN, "build", StepStatus.RUNNING, at=1767312101.0, attempt=1)
    assert [t.seq for t in j.transitions(NEW_RUN)] == [5]
    j.close()
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchall()
    assert version == [(str(SCHEMA_VERSION),)]
    db.close()


def test_a_journal_without_a_version_or_an_index_is_brought_up_to_date(tmp_path: Path) -> None:
    path = _v1_journal(tmp_path)
    db = sqlite3.connect(path)
    db.executescript("DELETE FROM meta; DROP INDEX transitions_by_run;")
    db.close()
    open_journal(f"sqlite:///{path}").close()
    db = sqlite3.connect(path)
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    assert meta["schema_version"] == "1" and len(meta["schema_digest"]) == 64
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"runs_by_runbook", "transitions_by_run"} <= indexes
    db.close()


#: The PostgreSQL schema as the previous version wrote it (its own copy of the tables).
V1_POSTGRES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    id TEXT PRIMARY KEY, runbook TEXT NOT NULL, fingerprint TEXT NOT NULL,
    params TEXT NOT NULL, options TEXT NOT NULL, who TEXT NOT NULL, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started_at DOUBLE PRECISION NOT NULL, ended_at DOUBLE PRECISION,
    outcome TEXT NOT NULL, failed_step TEXT, reason TEXT, audit_head TEXT,
    metrics TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_runbook ON runs (runbook, started_at);
CREATE TABLE transitions (
    seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL, status TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0, exit_code INTEGER, duration DOUBLE PRECISION,
    output_tail TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX transitions_by_run ON transitions (run_id, seq);
CREATE TABLE gates (
    seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL, mode TEXT NOT NULL, prompt TEXT NOT NULL, answer TEXT NOT NULL,
    approver TEXT NOT NULL, source TEXT NOT NULL, asked_at DOUBLE PRECISION NOT NULL,
    answered_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE host_results (
    seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL, host TEXT NOT NULL, ok INTEGER NOT NULL, exit_code INTEGER,
    duration DOUBLE PRECISION, output_tail TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '', at DOUBLE PRECISION NOT NULL
);
CREATE TABLE locks (
    runbook TEXT PRIMARY KEY, run_id TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, acquired_at DOUBLE PRECISION NOT NULL
);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO runs (id, runbook, fingerprint, params, options, who, host, pid, started_at,
    outcome) VALUES ('r1', 'demo.book', 'f', '{"a": 1}', '{}', 'me', 'ops1', 7, 1.5, 'running');
INSERT INTO transitions (run_id, step_id, status, at) VALUES ('r1', 's1', 'running', 2.0);
"""

_COLUMNS = (
    "SELECT table_name, column_name, data_type, is_nullable, column_default"
    " FROM information_schema.columns WHERE table_schema = current_schema()"
    " ORDER BY table_name, ordinal_position"
)


@pytest.mark.slow
def test_postgres_renders_the_previous_versions_tables(pg: PostgresServer, pg_url: str) -> None:
    old = pg.createdb(pg_url.rsplit("/", 1)[1] + "_v1")
    pg.psql(V1_POSTGRES, db=old.rsplit("/", 1)[1])
    open_journal(pg_url).close()
    fresh = pg.psql(_COLUMNS, db=pg_url.rsplit("/", 1)[1])
    previous = pg.psql(_COLUMNS, db=old.rsplit("/", 1)[1])
    older = [line for line in fresh.splitlines() if not line.startswith(NEW_TABLES)]
    assert older == previous.replace("_v1", "").splitlines()
    open_journal(old).close()  # opening the older journal adds the new tables
    assert fresh.replace("_v1", "") == pg.psql(_COLUMNS, db=old.rsplit("/", 1)[1])


_INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
    " AND tablename = 'transitions' ORDER BY indexname"
)


@pytest.mark.slow
def test_postgres_previous_version_gets_the_new_index(pg: PostgresServer, pg_url: str) -> None:
    name = pg_url.rsplit("/", 1)[1] + "_v1idx"
    old = pg.createdb(name)
    pg.psql(V1_POSTGRES, db=name)
    assert "transitions_by_step" not in pg.psql(_INDEXES, db=name)
    journal = open_journal(old)
    assert journal.step_status("r1", "s1") is StepStatus.RUNNING  # its rows read as before
    journal.close()
    indexes = pg.psql(_INDEXES, db=name)
    assert "transitions_by_step" in indexes and "(run_id, step_id, seq)" in indexes


@pytest.mark.slow
def test_a_postgres_journal_of_the_previous_version_opens(pg: PostgresServer, pg_url: str) -> None:
    pg.psql(V1_POSTGRES, db=pg_url.rsplit("/", 1)[1])
    j = open_journal(pg_url, identity=FakeIdentity("ops1", pid=8))
    assert j.get_run("r1").params == {"a": 1}
    j.record("r1", "s1", StepStatus.SUCCEEDED, at=3.0)
    assert [(t.seq, t.status) for t in j.transitions("r1")] == [
        (1, StepStatus.RUNNING),
        (2, StepStatus.SUCCEEDED),
    ]
    j.acquire_lock("demo.book", "r1", at=4.0)
    assert j.lock_holder("demo.book") == LockHolder("r1", 8, "ops1", 4.0)
    assert j.integrity_check() == "ok"
    j.close()


def test_an_up_to_date_journal_is_not_written_when_opened(tmp_path: Path) -> None:
    """`history`, `report` and `lint` only read: opening leaves the file byte-identical."""
    path = tmp_path / "journal.db"
    open_journal(f"sqlite:///{path}").close()
    before = path.read_bytes()
    journal = open_journal(f"sqlite:///{path}")
    assert journal.runs() == []
    journal.close()
    assert path.read_bytes() == before
