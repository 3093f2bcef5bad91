"""What the shared step keywords mean while a run walks its plan.

The plan already says which steps a run selects (``plan.selection``); this module holds
the run-time half, so the runner's walk reads as a list of decisions:

- ``setup`` steps and ``rerun_on_resume`` probes run again on resume although done;
- a step that failed under ``on_failure="continue"`` stays failed on resume (it is not
  run again) unless ``--step`` is on, where the operator is asked about it;
- ``on_failure="stop"`` fails the run without a rollback, resumable;
- ``quiet`` keeps a step's output off the console.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.state import AGAIN, DONE, RunOutcome, StepStatus
from opsbooks.records.events import Event, Notice
from opsbooks.records.journal import Transition
from opsbooks.run.options import RunOptions
from opsbooks.run.protocols import Output
from opsbooks.run.state import RunState

#: the detail key of a failed step's record when the run went on past it
CONTINUED = "on_failure"


def tags_of(options: RunOptions | Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The tag selection as ``plan()`` keywords, from the options or a run's record."""
    if isinstance(options, RunOptions):
        return {"only_tags": options.only_tags, "skip_tags": options.skip_tags}
    return {
        "only_tags": tuple(options.get("only_tags") or ()),
        "skip_tags": tuple(options.get("skip_tags") or ()),
    }


def runs_again(planned: PlannedStep, status: StepStatus) -> bool:
    """A done step that the definition says runs on every resume."""
    return status in DONE and (planned.setup or planned.rerun_on_resume)


def again_detail(planned: PlannedStep) -> dict[str, Any]:
    """Marks a record of a ``setup``/``rerun_on_resume`` step, which may follow a done one."""
    return {AGAIN: True} if planned.setup or planned.rerun_on_resume else {}


def kept_failed(
    planned: PlannedStep, run: RunState, continued: Mapping[str, str], *, revisit: bool
) -> bool:
    """On resume: True for a step the run went on past, which stays failed (a warning).

    With ``revisit`` (``--step``) it is offered again like any other step. A done
    ``setup`` or ``rerun_on_resume`` step about to run again leaves the completed list,
    so that it is in it once.
    """
    if planned.id in continued and not revisit:
        run.warnings.append(warning(planned.id, continued[planned.id]))
        return True
    if planned.id in run.completed and (planned.setup or planned.rerun_on_resume):
        run.completed.remove(planned.id)
    return False


def continued_failures(transitions: Iterable[Transition]) -> dict[str, str]:
    """Steps whose latest record is a failure the run went on past: step -> reason."""
    latest = {t.step_id: t for t in transitions}
    return {
        step: t.reason
        for step, t in latest.items()
        if t.status is StepStatus.FAILED and t.detail.get(CONTINUED) == "continue"
    }


def warning(step_id: str, reason: str) -> str:
    """One line of the warnings a run that went on past failures ends with."""
    return f"{step_id} failed ({reason or 'no reason given'})"


def warnings_reason(warnings: list[str]) -> str:
    """The reason recorded for a run that ended ``succeeded_with_warnings``."""
    count = "1 step" if len(warnings) == 1 else f"{len(warnings)} steps"
    return f"{count} failed and the run went on (on_failure='continue'): " + "; ".join(
        dict.fromkeys(warnings)
    )


def with_warnings(outcome: RunOutcome, reason: str, warnings: list[str]) -> tuple[RunOutcome, str]:
    """A run that succeeded past failures ends ``succeeded_with_warnings``, listing them."""
    if outcome is RunOutcome.SUCCEEDED and warnings:
        return RunOutcome.SUCCEEDED_WITH_WARNINGS, warnings_reason(warnings)
    return outcome, reason


def rolls_back(plan: Plan, step_id: str, emit: Callable[[Event], None]) -> bool:
    """False for a step declared ``on_failure="stop"``: the run stops as it is, resumable."""
    planned = plan.find(step_id)
    if planned is None or planned.on_failure != "stop":
        return True
    emit(
        Notice(
            f"{step_id} failed and declares on_failure='stop': no rollback; what was done "
            f"stays in place. Fix the cause, then resume the run.",
            step_id,
        )
    )
    return False


class QuietOutput:
    """The console for a ``quiet=True`` step: its output is dropped, messages still shown.

    The output still reaches the journal: executors keep the tail of what the backend
    returned, not of what the console showed.
    """

    def __init__(self, inner: Output) -> None:
        self._inner = inner

    def write(self, text: str, /) -> int:
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def say(self, text: str) -> None:
        self._inner.say(text)

    def heartbeat(self, label: str, every: float = 30.0) -> AbstractContextManager[None]:
        return self._inner.heartbeat(label, every)
