"""What resume refuses or asks about before it touches a run, and ``abandon``.

Every refusal here is bad input (exit 2) and leaves the run exactly as it was: no lock
taken, no transition written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from opsbooks.errors import BadInput, JournalError
from opsbooks.plan.binding import Plan
from opsbooks.plan.state import MARKABLE, RunOutcome, StepStatus
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import Journal, RunRecord
from opsbooks.records.journal.locks import holder_liveness
from opsbooks.run.gates import GateRequest
from opsbooks.run.options import RunOptions

S = StepStatus
#: closed like ``succeeded``: every step done, some failures gone on past
_WARNED = RunOutcome.SUCCEEDED_WITH_WARNINGS.value

_WHY_NOT_MARKABLE = {
    S.SUCCEEDED: "it already succeeded; there is nothing to mark",
    S.SKIPPED: "it was skipped on purpose; resume runs the steps after it",
    S.COMPENSATING: "its undo was cut off; resume finishes the rollback first",
    S.COMPENSATED: "its effect was undone by the rollback; resume runs it again",
    S.COMPENSATION_FAILED: "its undo failed; check by hand, then resume runs it again",
}


def check_resumable(record: RunRecord) -> None:
    """Succeeded and abandoned runs are closed: say so, with what to do instead."""
    if record.outcome == RunOutcome.SUCCEEDED.value:
        raise JournalError(
            f"run {record.id} of {record.runbook} already succeeded; nothing to resume"
        )
    if record.outcome == RunOutcome.SUCCEEDED_WITH_WARNINGS.value:
        raise JournalError(
            f"run {record.id} of {record.runbook} succeeded with warnings ({record.reason}); "
            f"nothing to resume. To run a failed step again, start a new run with "
            f"`--start-at STEP`."
        )
    if record.outcome == RunOutcome.ABANDONED.value:
        raise JournalError(
            f"run {record.id} of {record.runbook} was abandoned ({record.reason or 'no reason'})"
            f"; it cannot be resumed. Start a new run instead."
        )


def check_mark_done(
    journal: Journal,
    record: RunRecord,
    bound: Plan,
    options: RunOptions,
    states: Mapping[str, StepStatus] | None = None,
) -> None:
    """``--mark-done`` names real steps whose outcome is open; anything else is refused.

    ``states`` are the run's step states once what newer runs did is carried in.
    """
    states = journal.step_states(record.id) if states is None else states
    cut = sorted(s for s, status in states.items() if status is S.COMPENSATING)
    if options.mark_done and cut:
        raise BadInput(
            f"--mark-done refused: the rollback of run {record.id} was cut off during the "
            f"undo of {', '.join(cut)}; resume without --mark-done to finish the rollback "
            f"first. Nothing was changed."
        )
    for step_id in dict.fromkeys(options.mark_done):
        inside = [sid for sid in bound.ids() if sid.startswith(step_id + ".")]
        if step_id not in bound.ids() and inside:
            raise BadInput(
                f"--mark-done {step_id}: {step_id!r} is a section of {bound.name}, not a "
                f"step; mark its steps one by one (--mark-done STEP, repeated): "
                f"{', '.join(inside)}"
            )
        if step_id not in bound.ids():
            raise BadInput(
                f"--mark-done {step_id}: {bound.name} has no such step; its "
                f"steps are: {', '.join(bound.ids())}"
            )
        status = states.get(step_id, S.PENDING)
        if status not in MARKABLE:
            raise BadInput(
                f"--mark-done {step_id}: refused, {_WHY_NOT_MARKABLE.get(status, status.value)}. "
                f"Nothing was changed; run {record.id} is as it was."
            )


def superseded_by(journal: Journal, record: RunRecord) -> RunRecord | None:
    """The newest run of the same runbook that succeeded after this one began, if any."""
    for other in journal.runs(record.runbook, limit=200):
        succeeded = other.outcome in (RunOutcome.SUCCEEDED.value, _WARNED)
        if other.started_at > record.started_at and succeeded:
            return other
    return None


def superseded_question(record: RunRecord, newer: RunRecord) -> GateRequest:
    """Asked before resuming a run that a newer, succeeded run of its runbook overtook."""
    when = _utc(newer.started_at)
    return GateRequest(
        step_id="resume:superseded",
        kind="confirm",
        title="A newer run succeeded",
        prompt=(
            f"Run {newer.id} of {record.runbook} succeeded at {when} (by {newer.who}), after "
            f"run {record.id} began. Resuming the older run may undo or contradict what the "
            f"newer one did. Resume {record.id} anyway?"
        ),
    )


def abandon(
    journal: Journal,
    run_id: str,
    *,
    reason: str,
    who: str,
    at: float,
    identity: HostIdentity,
    host_gone: bool = False,
) -> RunRecord:
    """Close a stopped, failed or crashed run for good, journaled with who and why.

    Refuses a run whose process still runs here, and a run held from another host
    unless its lease expired or the operator says that host is gone (``host_gone``).
    """
    if not reason.strip():
        raise BadInput("abandon needs --reason TEXT: it is recorded with your name")
    record = journal.get_run(run_id)
    if record.outcome in (RunOutcome.SUCCEEDED.value, RunOutcome.ABANDONED.value, _WARNED):
        raise BadInput(f"run {record.id} already ended {record.outcome}; nothing to abandon")
    holder = journal.lock_holder(record.runbook)
    if holder is not None and holder.run_id == record.id:
        alive = holder_liveness(holder, identity)
        if alive:
            raise BadInput(
                f"run {record.id} is still running (pid {holder.pid} on {holder.host}); stop "
                f"it first (Ctrl-C or `kill {holder.pid}`), then abandon it"
            )
        lease = journal.lock_lease(record.runbook)  # expired: that host's runner is gone
        if alive is None and not host_gone and not (lease and lease.of(holder) and lease.expired):
            raise BadInput(
                f"run {record.id} holds its lock from host {holder.host}, whose processes "
                f"cannot be checked from here. Abandon it on {holder.host}, or pass "
                f"--host-gone if that host is gone for good"
            )
        journal.release_lock(record.runbook, record.id)
    journal.finish_run(
        record.id, RunOutcome.ABANDONED, ended_at=at, reason=f"abandoned by {who}: {reason}"
    )
    return journal.get_run(record.id)


def _utc(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
