"""Step and run states, and the transitions allowed between them.

The journal stores these values as text; an illegal transition is a bug in the
runner, so it raises instead of being written.
"""

from __future__ import annotations

from enum import StrEnum


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    STOPPED = "stopped"
    #: its undo is running: durable before the undo starts, so a crash mid-undo is seen
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    COMPENSATION_FAILED = "compensation_failed"


class RunOutcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    #: every step is done but some failed under ``on_failure="continue"``: exit 0, closed
    SUCCEEDED_WITH_WARNINGS = "succeeded_with_warnings"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    STOPPED = "stopped"
    INTERRUPTED = "interrupted"
    #: closed for good by ``opsbooks abandon``: never resumed
    ABANDONED = "abandoned"


S = StepStatus
ALLOWED: dict[StepStatus, frozenset[StepStatus]] = {
    S.PENDING: frozenset({S.RUNNING, S.SKIPPED, S.SUCCEEDED, S.STOPPED}),
    # RUNNING -> RUNNING is a re-run after a crash left the step in flight.
    S.RUNNING: frozenset({S.RUNNING, S.SUCCEEDED, S.FAILED, S.STOPPED, S.SKIPPED}),
    # A remote step that failed on some hosts is undone on the hosts where it succeeded.
    S.FAILED: frozenset(
        {S.RUNNING, S.SUCCEEDED, S.SKIPPED, S.COMPENSATING, S.COMPENSATED, S.COMPENSATION_FAILED}
    ),
    S.STOPPED: frozenset({S.RUNNING, S.SUCCEEDED, S.SKIPPED, S.STOPPED}),
    S.SUCCEEDED: frozenset({S.COMPENSATING, S.COMPENSATED, S.COMPENSATION_FAILED}),
    S.SKIPPED: frozenset({S.RUNNING, S.SKIPPED}),
    # COMPENSATING -> COMPENSATING is the undo run again after a crash cut it off;
    # -> SUCCEEDED: a newer run did the step again after the cut-off undo (run.reconcile).
    S.COMPENSATING: frozenset({S.COMPENSATING, S.COMPENSATED, S.COMPENSATION_FAILED, S.SUCCEEDED}),
    # -> SUCCEEDED: a newer run of the runbook did the step again (run.reconcile).
    S.COMPENSATED: frozenset({S.RUNNING, S.SUCCEEDED}),
    S.COMPENSATION_FAILED: frozenset(
        {S.COMPENSATING, S.COMPENSATED, S.COMPENSATION_FAILED, S.RUNNING, S.SUCCEEDED}
    ),
}

#: where ``--mark-done`` may take a step: it has not run, or its outcome is in doubt
MARKABLE = frozenset({S.PENDING, S.RUNNING, S.FAILED, S.STOPPED})

DONE = frozenset({S.SUCCEEDED, S.SKIPPED})
RESUMABLE = frozenset(
    {
        RunOutcome.FAILED,
        RunOutcome.STOPPED,
        RunOutcome.INTERRUPTED,
        RunOutcome.ROLLED_BACK,
        RunOutcome.RUNNING,
    }
)


class IllegalTransition(RuntimeError):
    """The runner tried a transition the state machine forbids (a bug, not bad input)."""


#: the detail key of a ``running`` record that starts a done step again on purpose:
#: a ``setup`` step or a ``rerun_on_resume`` probe, which the definition says are safe
AGAIN = "again"


def check_transition(step: str, old: StepStatus, new: StepStatus, *, again: bool = False) -> None:
    if again and old in DONE and new is S.RUNNING:
        return
    if new not in ALLOWED[old]:
        raise IllegalTransition(f"step {step!r}: {old.value} -> {new.value} is not allowed")
