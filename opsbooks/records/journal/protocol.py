"""The journal as the runner, the CLI and the reports see it: one narrow protocol.

Resume, history, reports and the audit anchor trust what is written here, so every
write is durable when it returns: a transition the runner has recorded survives a crash
before the next step starts (invariant 1). SQLite and PostgreSQL implement it as peers
(``opsbooks.records.journal.sqlite`` and ``.postgres``, over one SQL core); a new backend
implements these methods and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from opsbooks.plan.state import RunOutcome, StepStatus
from opsbooks.records.journal.locks import LeaseView, LockHolder
from opsbooks.records.journal.records import (
    ApprovalRecord,
    FactRecord,
    GateRecord,
    HostRecord,
    RunRecord,
    Transition,
)

__all__ = ["Journal"]


class Journal(Protocol):
    """Runs, step transitions, gate answers, per-host results and runbook locks."""

    # -- runs: one row per run, reopened by resume --------------------------------------

    def create_run(self, run: RunRecord) -> None:
        """Record a new run as ``running``; its id must be new."""
        ...

    def reopen_run(self, run_id: str, *, pid: int, host: str) -> None:
        """Mark a run ``running`` again in the process that resumes it.

        The pid and host are the resuming process's, so a later lock decision and the
        report name the process that really runs it now.
        """
        ...

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
        """Record how a run ended (or stopped), why, and its metrics."""
        ...

    def set_audit_head(self, run_id: str, head: str) -> None:
        """Anchor the audit chain: store the hash of the last audit line written.

        ``audit verify`` compares the file against it, so a truncated or rewritten
        audit file is caught.
        """
        ...

    def get_run(self, run_id: str) -> RunRecord:
        """Find a run by id, unique id prefix, or ``last`` for the newest.

        An unknown or ambiguous id is a ``JournalError`` telling the operator how to list
        runs; a row that does not decode is a ``JournalError`` too, never a traceback.
        """
        ...

    def runs(self, runbook: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The newest runs first, of one runbook or of all."""
        ...

    # -- steps: the transitions resume replays ------------------------------------------

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
        """Write one step transition in its own committed transaction.

        The transition is checked against the state table first (an illegal one raises
        before anything is written), and it is durable when this returns. With
        ``audit_head``, the run's audit anchor (see ``set_audit_head``) is set in the same
        transaction: the anchor of the audit line of the event this transition goes with.
        """
        ...

    def step_status(self, run_id: str, step_id: str) -> StepStatus:
        """The step's latest status; ``pending`` when it has none."""
        ...

    def step_states(self, run_id: str) -> dict[str, StepStatus]:
        """Every step's latest status, for the scheduler on resume."""
        ...

    def transitions(self, run_id: str) -> list[Transition]:
        """Every transition of the run in the order written, for reports and history."""
        ...

    def current(self, run_id: str) -> list[Transition]:
        """The transitions that still say something, in order: every one with a detail,
        and the latest of each step that has one. What resume and a run's end read
        from a detail, or from a step's latest detail, is the same from these as from
        every transition, without reading a long run's history."""
        ...

    # -- gates and hosts -----------------------------------------------------------------

    def record_gate(self, gate: GateRecord) -> None:
        """Record who answered a gate, what, how and when (the answer is already redacted)."""
        ...

    def gates(self, run_id: str) -> list[GateRecord]:
        """Every gate answer of the run, oldest first."""
        ...

    def answers(self, run_id: str) -> dict[str, Any]:
        """The latest answer per gate, so resume does not ask again."""
        ...

    def record_fact(self, fact: FactRecord) -> None:
        """Record a named fact of a run (a milestone's time, or a value; already redacted)."""
        ...

    def facts(self, run_id: str) -> list[FactRecord]:
        """Every fact of the run, oldest first."""
        ...

    def record_approval(self, approval: ApprovalRecord) -> None:
        """Record a signed decision on a gate (accepted or refused), or a gate's request."""
        ...

    def approvals(self, run_id: str, step_id: str | None = None) -> list[ApprovalRecord]:
        """The approval rows of a run (or of one gate), oldest first, with their ``seq``."""
        ...

    def record_host(self, record: HostRecord) -> None:
        """Record one host's result of a remote step attempt."""
        ...

    def record_hosts(self, records: Sequence[HostRecord]) -> None:
        """Record the results of hosts that finished together, in one transaction."""
        ...

    def host_results(self, run_id: str, step_id: str | None = None) -> list[HostRecord]:
        """Per-host results, oldest first, of one step or of the whole run.

        Resume and undo read them to touch only the hosts that need it.
        """
        ...

    # -- locks: at most one live run per runbook -----------------------------------------

    def acquire_lock(self, runbook: str, run_id: str, *, at: float, force: bool = False) -> None:
        """Take the runbook's lock for ``run_id`` or raise ``LockHeld`` saying why not.

        Read and write happen in one cross-process critical section; the decision is
        :func:`opsbooks.records.journal.locks.decide`: ``force`` takes over only a
        crashed holder on this host, never a live process and never another host's.
        """
        ...

    def release_lock(self, runbook: str, run_id: str) -> None:
        """Release the lock if ``run_id`` holds it (a no-op otherwise)."""
        ...

    def lock_holder(self, runbook: str) -> LockHolder | None:
        """Who holds the runbook's lock now, if anyone."""
        ...

    def lock_lease(self, runbook: str) -> LeaseView | None:
        """The lock's lease and the age of its last beat (the journal's clock), if any."""
        ...

    def renew_lease(self, runbook: str, run_id: str, *, pid: int, host: str) -> bool:
        """Renew the lease if process ``pid`` on ``host`` holds the lock for ``run_id``;
        say whether it did."""
        ...

    # -- the store itself ----------------------------------------------------------------

    def barrier(self) -> None:
        """Make the loss of any commit so far detectable, before something waits on them.

        Every write is durable when it returns; a barrier is what makes its loss with a
        lost SQLite WAL refused at open (the seal, ``sqlite_seal``). Writes after which an
        effect starts are barriers already; this is for a question that waits for a
        person. A no-op where the server keeps its own log (PostgreSQL).
        """
        ...

    def integrity_check(self) -> str:
        """``ok``, or what the backend found wrong with its storage."""
        ...

    def close(self) -> None:
        """Close the connection; the journal is not used afterwards."""
        ...
