"""Run-time policies the composition root injects into the runner.

The runner does not read flags: ``--step`` becomes a ``StepPolicy`` that asks before
each step, ``--no-rollback`` a ``FailurePolicy`` that keeps what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from opsbooks.errors import GateStopped
from opsbooks.plan.binding import PlannedStep
from opsbooks.run.gates import GateAnswer, GateRequest
from opsbooks.run.state import RunState


class StepPolicy(Protocol):
    """Decides, before a step runs, whether it runs: None runs it; a reason skips it.

    Raising ``GateStopped`` stops the run there (resumable).
    """

    def __call__(self, planned: PlannedStep, run: RunState) -> str | None: ...


def every_step(planned: PlannedStep, run: RunState) -> str | None:
    """The default: every step that is due runs."""
    return None


@dataclass(frozen=True)
class AskBeforeEachStep:
    """``--step``: a person says continue, skip or abort before each step."""

    ask: Callable[[GateRequest, RunState], GateAnswer]

    def __call__(self, planned: PlannedStep, run: RunState) -> str | None:
        request = GateRequest(
            step_id=f"step:{planned.id}",
            kind="step",
            title=planned.title,
            prompt=f"Next: {planned.id} ({planned.kind}) {planned.shown or planned.text or ''}",
            choices=("continue", "skip", "abort"),
        )
        answer = self.ask(request, run)
        if answer.value == "skip":
            return f"skipped in --step mode by {answer.approver}"
        if answer.value == "abort":
            raise GateStopped(planned.id, f"aborted in --step mode by {answer.approver}")
        return None


@dataclass(frozen=True)
class FailurePolicy:
    """What a failed step (or a gate declined with rollback) does to the steps done."""

    rollback: bool = True
