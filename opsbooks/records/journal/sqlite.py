"""The journal: the durable record of runs, step transitions, gate answers and locks.

It is the source of truth for resume, history and reports. Every write is its own
committed transaction with ``synchronous=FULL`` in WAL mode, so a transition the
runner has written survives a crash before the next step starts.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opsbooks.errors import JournalError, LockHeld
from opsbooks.plan.state import RunOutcome, StepStatus, check_transition
from opsbooks.records.journal.records import (
    GateRecord,
    HostRecord,
    RunRecord,
    Transition,
    loads_json,
    number,
    run_from_row,
    step_status_of,
)

__all__ = [
    "GateRecord",
    "HostRecord",
    "Journal",
    "RunRecord",
    "Transition",
    "sqlite_path",
]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    runbook TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    params TEXT NOT NULL,
    options TEXT NOT NULL,
    who TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    outcome TEXT NOT NULL,
    failed_step TEXT,
    reason TEXT,
    audit_head TEXT,
    metrics TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS runs_by_runbook ON runs (runbook, started_at);
CREATE TABLE IF NOT EXISTS transitions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL,
    status TEXT NOT NULL,
    at REAL NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    duration REAL,
    output_tail TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    who TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS transitions_by_run ON transitions (run_id, seq);
CREATE TABLE IF NOT EXISTS gates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    prompt TEXT NOT NULL,
    answer TEXT NOT NULL,
    approver TEXT NOT NULL,
    source TEXT NOT NULL,
    asked_at REAL NOT NULL,
    answered_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS host_results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    step_id TEXT NOT NULL,
    host TEXT NOT NULL,
    ok INTEGER NOT NULL,
    exit_code INTEGER,
    duration REAL,
    output_tail TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS locks (
    runbook TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    acquired_at REAL NOT NULL
);
"""


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


class Journal:
    """SQLite journal; one connection per process, each write committed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise JournalError(
                f"the journal at {path} cannot be read ({exc}). It is not overwritten: "
                f"move it aside to start a fresh journal, or point `journal` in the "
                f"configuration at another file."
            ) from None

    @classmethod
    def open(cls, url: str) -> Journal:
        """Open the journal at ``url``: ``sqlite:///PATH`` or ``postgresql://...``."""
        if url.startswith(("postgresql://", "postgres://")):
            from opsbooks.records.journal.postgres import PostgresJournal

            return PostgresJournal(url)
        return cls(sqlite_path(url))

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if "meta" in tables:
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"the journal at {self.path} has schema version {version}, newer than "
                    f"this opsbooks understands ({SCHEMA_VERSION}). Upgrade opsbooks; the "
                    f"journal was not touched."
                )
        elif tables - {"sqlite_sequence"}:
            raise JournalError(
                f"{self.path} is an SQLite database but not an opsbooks journal "
                f"(tables: {', '.join(sorted(tables))}). Point `journal` elsewhere."
            )
        with self._tx():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )

    #: IMMEDIATE takes SQLite's write lock up front, so a read-then-write cannot deadlock.
    _BEGIN = "BEGIN IMMEDIATE"

    @contextmanager
    def _tx(self) -> Iterator[None]:
        self._db.execute(self._BEGIN)
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- runs -------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO runs (id, runbook, fingerprint, params, options, who, host, pid,"
                " started_at, outcome) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    run.id,
                    run.runbook,
                    run.fingerprint,
                    json.dumps(run.params, sort_keys=True),
                    json.dumps(run.options, sort_keys=True),
                    run.who,
                    run.host,
                    run.pid,
                    run.started_at,
                    run.outcome,
                ),
            )

    def reopen_run(self, run_id: str, *, pid: int, host: str) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE runs SET outcome=?, ended_at=NULL, pid=?, host=? WHERE id=?",
                (RunOutcome.RUNNING.value, pid, host, run_id),
            )

    def finish_run(
        self,
        run_id: str,
        outcome: RunOutcome,
        *,
        ended_at: float,
        failed_step: str | None = None,
        reason: str | None = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE runs SET outcome=?, ended_at=?, failed_step=?, reason=?,"
                " metrics=? WHERE id=?",
                (
                    outcome.value,
                    ended_at,
                    failed_step,
                    reason,
                    json.dumps(dict(metrics or {}), sort_keys=True),
                    run_id,
                ),
            )

    def set_audit_head(self, run_id: str, head: str) -> None:
        with self._tx():
            self._db.execute("UPDATE runs SET audit_head=? WHERE id=?", (head, run_id))

    def get_run(self, run_id: str) -> RunRecord:
        """Find a run by id, unique id prefix, or ``last`` for the newest."""
        if run_id == "last":
            newest = self._db.execute(
                "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1"
            ).fetchone()
            if newest is None:
                raise JournalError(f"no runs in the journal at {self.path} yet")
            run_id = newest[0]
        row = self._db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            matches = self._db.execute(
                "SELECT id FROM runs WHERE id LIKE ? ORDER BY started_at DESC", (run_id + "%",)
            ).fetchall()
            if len(matches) == 1:
                return self.get_run(matches[0][0])
            raise JournalError(
                f"no run {run_id!r} in the journal at {self.path}. "
                f"Run `opsbooks history` to list runs."
            )
        return run_from_row(row, self._db)

    def runs(self, runbook: str | None = None, limit: int = 50) -> list[RunRecord]:
        query = "SELECT * FROM runs"
        args: tuple[Any, ...] = ()
        if runbook:
            query += " WHERE runbook=?"
            args = (runbook,)
        query += " ORDER BY started_at DESC LIMIT ?"
        cur = self._db.execute(query, (*args, limit))
        return [run_from_row(row, cur) for row in cur.fetchall()]

    # -- steps ------------------------------------------------------------------------

    def record(
        self,
        run_id: str,
        step_id: str,
        status: StepStatus,
        *,
        at: float,
        attempt: int = 0,
        exit_code: int | None = None,
        duration: float | None = None,
        output_tail: str = "",
        reason: str = "",
        who: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Write one step transition; it is durable when this returns."""
        old = self.step_status(run_id, step_id)
        check_transition(step_id, old, status)
        with self._tx():
            self._db.execute(
                "INSERT INTO transitions (run_id, step_id, status, at, attempt, exit_code,"
                " duration, output_tail, reason, who, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    step_id,
                    status.value,
                    at,
                    attempt,
                    exit_code,
                    duration,
                    output_tail,
                    reason,
                    who,
                    json.dumps(dict(detail or {}), sort_keys=True, default=str),
                ),
            )

    def step_status(self, run_id: str, step_id: str) -> StepStatus:
        row = self._db.execute(
            "SELECT status FROM transitions WHERE run_id=? AND step_id=? ORDER BY seq DESC LIMIT 1",
            (run_id, step_id),
        ).fetchone()
        return step_status_of(row[0]) if row else StepStatus.PENDING

    def step_states(self, run_id: str) -> dict[str, StepStatus]:
        rows = self._db.execute(
            "SELECT step_id, status FROM transitions WHERE run_id=? ORDER BY seq", (run_id,)
        ).fetchall()
        return {step: step_status_of(status) for step, status in rows}

    def transitions(self, run_id: str) -> list[Transition]:
        cur = self._db.execute("SELECT * FROM transitions WHERE run_id=? ORDER BY seq", (run_id,))
        names = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            data = dict(zip(names, row, strict=True))
            data["status"] = step_status_of(data["status"])
            data["detail"] = loads_json(data["detail"], "transition detail", dict)
            data["at"] = number(data["at"], "transition time")
            out.append(Transition(**data))
        return out

    # -- gates and hosts --------------------------------------------------------------

    def record_gate(self, gate: GateRecord) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO gates (run_id, step_id, mode, prompt, answer, approver, source,"
                " asked_at, answered_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    gate.run_id,
                    gate.step_id,
                    gate.mode,
                    gate.prompt,
                    json.dumps(gate.answer, default=str),
                    gate.approver,
                    gate.source,
                    gate.asked_at,
                    gate.answered_at,
                ),
            )

    def gates(self, run_id: str) -> list[GateRecord]:
        rows = self._db.execute(
            "SELECT run_id, step_id, mode, prompt, answer, approver, source, asked_at,"
            " answered_at FROM gates WHERE run_id=? ORDER BY seq",
            (run_id,),
        ).fetchall()
        return [
            GateRecord(r[0], r[1], r[2], r[3], loads_json(r[4], "gate answer"), *r[5:])
            for r in rows
        ]

    def answers(self, run_id: str) -> dict[str, Any]:
        """The latest answer per gate, for resume."""
        return {g.step_id: g.answer for g in self.gates(run_id)}

    def record_host(self, record: HostRecord) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO host_results (run_id, step_id, host, ok, exit_code, duration,"
                " output_tail, error, at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    record.run_id,
                    record.step_id,
                    record.host,
                    int(record.ok),
                    record.exit_code,
                    record.duration,
                    record.output_tail,
                    record.error,
                    record.at,
                ),
            )

    def host_results(self, run_id: str, step_id: str | None = None) -> list[HostRecord]:
        query = (
            "SELECT run_id, step_id, host, ok, exit_code, duration, output_tail, error, at"
            " FROM host_results WHERE run_id=?"
        )
        args: tuple[Any, ...] = (run_id,)
        if step_id is not None:
            query += " AND step_id=?"
            args = (run_id, step_id)
        rows = self._db.execute(query + " ORDER BY seq", args).fetchall()
        return [HostRecord(r[0], r[1], r[2], bool(r[3]), *r[4:]) for r in rows]

    # -- locks ------------------------------------------------------------------------

    def acquire_lock(self, runbook: str, run_id: str, *, at: float, force: bool = False) -> None:
        """Take the runbook's lock, refusing while another live run holds it."""
        pid, host = os.getpid(), socket.gethostname()
        with self._tx():
            row = self._db.execute(
                "SELECT run_id, pid, host FROM locks WHERE runbook=?", (runbook,)
            ).fetchone()
            local = row is not None and row[2] == host
            alive = None if row is None or not local else _alive(row[1])
            if row is not None and row[0] != run_id and not force:
                raise LockHeld(runbook, row[0], row[1], row[2], alive=alive)
            if row is not None and row[0] != run_id and alive:
                raise LockHeld(runbook, row[0], row[1], row[2], alive=True, forced=True)
            same_run_elsewhere = (
                row is not None and row[0] == run_id and row[2] == host and row[1] != pid
            )
            if same_run_elsewhere and row is not None and _alive(row[1]) and not force:
                raise LockHeld(runbook, row[0], row[1], row[2])
            self._db.execute(
                "INSERT OR REPLACE INTO locks VALUES (?,?,?,?,?)", (runbook, run_id, pid, host, at)
            )

    def release_lock(self, runbook: str, run_id: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM locks WHERE runbook=? AND run_id=?", (runbook, run_id))

    def lock_holder(self, runbook: str) -> tuple[str, int, str] | None:
        row = self._db.execute(
            "SELECT run_id, pid, host FROM locks WHERE runbook=?", (runbook,)
        ).fetchone()
        return None if row is None else (row[0], int(row[1]), row[2])

    def integrity_check(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
