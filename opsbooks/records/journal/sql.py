"""The SQL journal: one implementation of :class:`Journal`, parameterized by a dialect.

SQLite and PostgreSQL differ in a few well-named places only, and each backend states
them in its :class:`Dialect`: the placeholder style, the type names the schema renders
with, how a transaction begins, how a critical section is made exclusive across
processes (SQLite's ``BEGIN IMMEDIATE`` write lock, PostgreSQL's advisory locks), the
upsert, how tables are listed and how storage is checked. Every statement below is
written once, with the dialect's placeholder; none is rewritten afterwards.

Both connections run in autocommit mode and every write is an explicit transaction
committed before the method returns: a recorded transition is durable.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opsbooks.errors import JournalError
from opsbooks.plan.state import AGAIN, RunOutcome, StepStatus, check_transition
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import schema
from opsbooks.records.journal.dialect import Connection, Dialect
from opsbooks.records.journal.records import (
    GateRecord,
    HostRecord,
    RunRecord,
    Transition,
    damaged_run,
    field_names,
    gate_from_row,
    host_from_row,
    malformed,
    run_from_row,
    unknown_run,
)
from opsbooks.records.journal.sql_locks import LockRecords
from opsbooks.records.journal.sql_side import SideRecords
from opsbooks.records.journal.sql_steps import StepReads

__all__ = ["SqlJournal"]


#: Select lists, in the order the records' fields (and row decoders) expect.
_RECORDS = (RunRecord, GateRecord, HostRecord)
_RUN, _GATE, _HOST = (", ".join(field_names(r)) for r in _RECORDS)

#: The columns a transition sets (``seq`` is the database's).
_TRANSITION_COLUMNS = tuple(c for c in schema.table("transitions").names if c != "seq")

#: Transitions after which an effect starts: the journal's barriers (``_tx``).
_STARTS = frozenset({StepStatus.RUNNING, StepStatus.COMPENSATING})

#: The columns a new run sets; the others start NULL or at their defaults.
_RUN_INSERT = (
    "id",
    "runbook",
    "fingerprint",
    "params",
    "options",
    "who",
    "host",
    "pid",
    "started_at",
    "outcome",
)


class SqlJournal(StepReads, SideRecords, LockRecords):
    """The journal over any :class:`Dialect` and :class:`Connection` (see the module);
    reads of transitions are :class:`StepReads`, facts and approvals
    :class:`SideRecords`, locks and leases :class:`LockRecords`."""

    def __init__(
        self,
        dialect: Dialect,
        connection: Connection,
        *,
        where: str,
        identity: HostIdentity | None = None,
        lease: float | None = None,
    ) -> None:
        self.dialect = dialect
        self.where = where
        self._db = connection
        self._identity = identity
        self._lease = lease
        self._q = dialect.placeholder
        #: each run's transitions as last read, decoded (see ``transitions``)
        self._transitions: dict[str, tuple[Transition, ...]] = {}
        self._states: dict[str, tuple[int, int | None, dict[str, StepStatus]]] = {}

    def close(self) -> None:
        self._db.close()

    def _marks(self, n: int) -> str:
        return ",".join([self._q] * n)

    def _insert(self, table: str, names: Sequence[str]) -> str:
        return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({self._marks(len(names))})"

    @contextmanager
    def _tx(self, exclusive: str | None = None, *, barrier: bool = True) -> Iterator[None]:
        """A write transaction; ``barrier=False`` only for results of work already done
        (their loss with a lost WAL leaves the state a crash mid-step leaves: ``sqlite_seal``)."""
        self._db.execute(self.dialect.begin)
        try:
            for sql, args in self.dialect.exclusive(exclusive) if exclusive else ():
                self._db.execute(sql, args)
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        if barrier:
            self._db.barrier()

    def barrier(self) -> None:
        self._db.barrier()

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        with self._tx():
            self._db.execute(sql, args)

    # -- schema -----------------------------------------------------------------------

    def tables(self) -> set[str]:
        return {str(r[0]) for r in self._db.execute(self.dialect.list_tables()).fetchall()}

    def migrate(self) -> None:
        """Create what is missing and stamp the version; refuse a newer or foreign store.

        A journal already up to date (its stored digest of the schema statements matches)
        is not written at all, so `history`, `report` or `lint` leave the file unchanged.
        """
        tables = self.tables()
        if "meta" in tables:
            self._refuse_newer()
        elif tables:
            raise JournalError(
                f"{self.where} is {self.dialect.kind} but not an opsbooks journal "
                f"(tables: {', '.join(sorted(tables))}). Point `journal` elsewhere."
            )
        statements = schema.create_statements(self.dialect.types)
        digest = hashlib.sha256("\n".join(statements).encode()).hexdigest()
        if "meta" in tables and self._meta("schema_digest") == digest:
            return
        with self._tx(exclusive="opsbooks:schema"):
            for statement in statements:
                self._db.execute(statement)
            upsert = self.dialect.upsert(schema.table("meta"), "key")
            self._db.execute(upsert, ("schema_version", str(schema.SCHEMA_VERSION)))
            self._db.execute(upsert, ("schema_digest", digest))

    def _meta(self, key: str) -> str | None:
        row = self._db.execute(f"SELECT value FROM meta WHERE key={self._q}", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _refuse_newer(self) -> None:
        q = self._q
        row = self._db.execute(f"SELECT value FROM meta WHERE key={q}", ("schema_version",))
        found = row.fetchone()
        try:
            version = int(found[0]) if found else 0
        except (TypeError, ValueError):
            raise malformed("schema version", found[0]) from None
        if version > schema.SCHEMA_VERSION:
            raise JournalError(
                f"the journal at {self.where} has schema version {version}, newer than "
                f"this opsbooks understands ({schema.SCHEMA_VERSION}). Upgrade opsbooks; the "
                f"journal was not touched."
            )

    def integrity_check(self) -> str:
        result = str(self._db.execute(self.dialect.check_storage()).fetchone()[0])
        if result == "ok" and "meta" not in self.tables():
            return f"{self.where}: meta table missing"
        return result

    # -- runs -------------------------------------------------------------------------

    def create_run(self, run: RunRecord) -> None:
        values = (
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
        )
        self._write(self._insert("runs", _RUN_INSERT), values)

    def reopen_run(self, run_id: str, *, pid: int, host: str) -> None:
        q = self._q
        self._write(
            f"UPDATE runs SET outcome={q}, ended_at=NULL, pid={q}, host={q} WHERE id={q}",
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
        q = self._q
        self._write(
            f"UPDATE runs SET outcome={q}, ended_at={q}, failed_step={q}, reason={q},"
            f" metrics={q} WHERE id={q}",
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
        self._write(f"UPDATE runs SET audit_head={self._q} WHERE id={self._q}", (head, run_id))

    def get_run(self, run_id: str) -> RunRecord:
        q = self._q
        if run_id == "last":
            newest = self._db.execute("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
            found = newest.fetchone()
            if found is None:
                raise JournalError(f"no runs in the journal at {self.where} yet")
            run_id = found[0]
        select = f"SELECT {_RUN} FROM runs"
        row = self._db.execute(f"{select} WHERE id={q}", (run_id,)).fetchone()
        if row is not None:
            return run_from_row(row)
        pattern = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = self._db.execute(
            f"SELECT id FROM runs WHERE id LIKE {q} ESCAPE '\\' ORDER BY started_at DESC",
            (pattern,),
        ).fetchall()
        if len(matches) == 1:
            row = self._db.execute(f"{select} WHERE id={q}", (matches[0][0],)).fetchone()
            if row is None:  # listed by a scan, missing from the index: a damaged file
                raise damaged_run(self.where, str(matches[0][0]))
            return run_from_row(row)
        raise unknown_run(self.where, run_id, [str(m[0]) for m in matches])

    def runs(self, runbook: str | None = None, limit: int = 50) -> list[RunRecord]:
        q = self._q
        where, args = (f" WHERE runbook={q}", (runbook,)) if runbook else ("", ())
        rows = self._db.execute(
            f"SELECT {_RUN} FROM runs{where} ORDER BY started_at DESC LIMIT {q}",
            (*args, limit),
        ).fetchall()
        return [run_from_row(row) for row in rows]

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
        audit_head: str | None = None,
    ) -> None:
        again = bool(detail and detail.get(AGAIN))
        check_transition(step_id, self.step_status(run_id, step_id), status, again=again)
        values = (run_id, step_id, status.value, at, attempt, exit_code, duration)
        encoded = json.dumps(dict(detail), sort_keys=True, default=str) if detail else "{}"
        row = (*values, output_tail, reason, who, encoded)
        with self._tx(barrier=status in _STARTS):
            self._db.execute(self._insert("transitions", _TRANSITION_COLUMNS), row)
            if audit_head is not None:  # the anchor of the line just written, same commit
                q = self._q
                self._db.execute(
                    f"UPDATE runs SET audit_head={q} WHERE id={q}", (audit_head, run_id)
                )

    # -- gates and hosts --------------------------------------------------------------

    def record_gate(self, gate: GateRecord) -> None:
        values = (gate.run_id, gate.step_id, gate.mode, gate.prompt)
        answer = json.dumps(gate.answer, default=str)
        rest = (gate.approver, gate.source, gate.asked_at, gate.answered_at)
        self._write(self._insert("gates", field_names(GateRecord)), (*values, answer, *rest))

    def gates(self, run_id: str) -> list[GateRecord]:
        rows = self._db.execute(
            f"SELECT {_GATE} FROM gates WHERE run_id={self._q} ORDER BY seq",
            (run_id,),
        ).fetchall()
        return [gate_from_row(row) for row in rows]

    def answers(self, run_id: str) -> dict[str, Any]:
        return {g.step_id: g.answer for g in self.gates(run_id)}

    def record_host(self, record: HostRecord) -> None:
        self.record_hosts([record])

    def record_hosts(self, records: Sequence[HostRecord]) -> None:
        """Hosts that finished together, one transaction (one commit, not one per host)."""
        sql = self._insert("host_results", field_names(HostRecord))
        with self._tx(barrier=False):  # results of work done: see ``_tx``
            for r in records:
                values = (r.run_id, r.step_id, r.host, int(r.ok), r.exit_code, r.duration)
                self._db.execute(sql, (*values, r.output_tail, r.error, r.at))

    def host_results(self, run_id: str, step_id: str | None = None) -> list[HostRecord]:
        q = self._q
        args: tuple[str, ...]
        one_step, args = "", (run_id,)
        if step_id is not None:
            one_step, args = f" AND step_id={q}", (run_id, step_id)
        rows = self._db.execute(
            f"SELECT {_HOST} FROM host_results WHERE run_id={q}{one_step} ORDER BY seq",
            args,
        ).fetchall()
        return [host_from_row(row) for row in rows]
