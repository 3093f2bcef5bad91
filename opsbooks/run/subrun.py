"""Run a ``SubRun`` step: start (or resume) the linked child run, and take its outcome.

The run layer may not import the composition root, so starting a run is a protocol
(``ChildRuns``) that ``edges.subruns`` implements with the parent's surroundings and
injects through ``StepEnv.children``; the default refuses clearly. The decision of
what to do is here and pure: no linked child yet -> start one; a linked child that
succeeded -> take its success without running it again; any other -> resume that
same run id (a failed or stopped child is resumed, never restarted). A child that
fails fails the step (the parent rolls back as for any step); one that stops stops the
parent too, without a rollback, so resuming the parent resumes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from opsbooks.define.subrun import SubRunSpec
from opsbooks.errors import GateStopped, OpsbooksError
from opsbooks.plan.binding import PlannedStep
from opsbooks.plan.state import RunOutcome, StepStatus
from opsbooks.records.events import Notice
from opsbooks.records.journal import Transition
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState

if TYPE_CHECKING:
    from opsbooks.run.execute import StepEnv

#: the journal detail key of a SubRun step: the child's run id
CHILD_RUN = "child_run"
_SUCCEEDED = (RunOutcome.SUCCEEDED.value, RunOutcome.SUCCEEDED_WITH_WARNINGS.value)
#: a child that stopped at a gate or was interrupted: it waits to be resumed
_PAUSED = (RunOutcome.STOPPED.value, RunOutcome.INTERRUPTED.value, RunOutcome.RUNNING.value)


@dataclass(frozen=True)
class ChildRequest:
    """Start ``runbook`` with ``params`` as the linked run of ``parent_run``'s ``step_id``."""

    parent_run: str
    step_id: str
    runbook: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChildOutcome:
    """How a linked run ended (or stands): its id, outcome value and reason."""

    run_id: str
    outcome: str
    reason: str = ""

    @property
    def succeeded(self) -> bool:
        return self.outcome in _SUCCEEDED


class ChildRuns(Protocol):
    """Starts and resumes linked runs (``edges.subruns.ChildLauncher`` is the real one)."""

    def linked(self, parent_run: str, step_id: str) -> ChildOutcome | None:
        """The child run this step started before and that is still in place, if any."""
        ...

    def start(self, request: ChildRequest) -> ChildOutcome: ...

    def resume(self, child_run: str, request: ChildRequest) -> ChildOutcome: ...


class NoChildRuns:
    """The default: a runner built without a composition root cannot start runs."""

    def linked(self, parent_run: str, step_id: str) -> ChildOutcome | None:
        return None

    def start(self, request: ChildRequest) -> ChildOutcome:
        raise OpsbooksError(
            f"{request.step_id} starts a linked run of {request.runbook}, but this runner "
            f"was built without a way to start runs; run it with `opsbooks run` (or "
            f"opsbooks.edges.session.start_run), which provides one"
        )

    def resume(self, child_run: str, request: ChildRequest) -> ChildOutcome:
        return self.start(request)


def linked_child(transitions: Iterable[Transition], step_id: str) -> str | None:
    """The child run id ``step_id`` last linked, unless a rollback undid the step since.

    An undone SubRun runs again on resume (invariant 2), as a new child run.
    """
    child: str | None = None
    for t in transitions:
        if t.step_id != step_id:
            continue
        if t.status in (StepStatus.COMPENSATING, StepStatus.COMPENSATED):
            child = None
        elif t.detail.get(CHILD_RUN):
            child = str(t.detail[CHILD_RUN])
    return child


def run_subrun(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    """The ``subrun`` kind's executor: ok iff the linked run ends succeeded."""
    spec: SubRunSpec = planned.spec
    request = ChildRequest(run.run_id, planned.id, spec.runbook, spec.params)
    known: ChildOutcome | None = None
    try:
        known = env.children.linked(run.run_id, planned.id)
        if known is None:
            done = env.children.start(request)
        elif known.succeeded:
            env.emit(Notice(f"linked run {known.run_id} already succeeded; not run again"))
            done = known
        else:
            env.emit(Notice(f"resuming linked run {known.run_id} of {spec.runbook}", planned.id))
            done = env.children.resume(known.run_id, request)
    except OpsbooksError as exc:
        detail = {CHILD_RUN: known.run_id} if known is not None else {}
        why = f"the linked run of {spec.runbook} could not run: {exc}"
        return StepResult(ok=False, reason=env.redact(why), detail=detail)
    detail = {CHILD_RUN: done.run_id, "child_runbook": spec.runbook, "child_outcome": done.outcome}
    said = f"linked run {done.run_id} of {spec.runbook} ended {done.outcome}"
    env.emit(Notice(said, planned.id))
    if done.succeeded:
        return StepResult(ok=True, output=said, detail=detail)
    reason = env.redact(said + (f": {done.reason}" if done.reason else ""))
    if done.outcome in _PAUSED:  # stopped, not failed: the parent stops too, no rollback
        raise GateStopped(planned.id, f"{reason}; resume this run to resume it")
    return StepResult(ok=False, output=said, reason=reason, detail=detail)
