"""Undo the steps a failed run completed, newest first, each undo journaled."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from opsbooks.define.template import TemplateError
from opsbooks.errors import GateStopped
from opsbooks.plan.binding import PlannedStep
from opsbooks.plan.state import StepStatus
from opsbooks.records.events import Compensated, Event, StepStarted
from opsbooks.records.journal.protocol import Journal
from opsbooks.records.redaction import Redactor
from opsbooks.run import host_outputs
from opsbooks.run.execute import Executor, StepEnv
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState

S = StepStatus


@dataclass(frozen=True)
class Rollback:
    """Runs the compensation of each completed step that declares one."""

    env: StepEnv
    journal: Journal
    redactor: Redactor
    execute: Executor
    emit: Callable[[Event], None]

    def __call__(self, run: RunState) -> bool:
        """Undo newest first; True if some undo ran and every one held."""
        clean, undone = True, 0
        for step_id in reversed(run.completed):
            undo = self.env.plan.get(step_id).undo
            if undo is None:
                continue
            result = self._undo(step_id, undo, run)
            clean = clean and result.ok
            undone += 1
        run.completed.clear()
        return clean and undone > 0

    def _undo(self, step_id: str, undo: str, run: RunState) -> StepResult:
        plan = self.env.plan
        compensation: PlannedStep = replace(plan.get(undo), undo_of=step_id)
        unbound = ""
        try:
            compensation = host_outputs.bound(compensation, plan.params, run)
        except TemplateError as exc:
            unbound = str(exc)
        self.emit(
            StepStarted(
                undo,
                compensation.kind,
                f"undo {step_id}: {compensation.title}",
                0,
                0,
                compensation.shown,
            )
        )
        # durable before the undo starts: a crash from here on leaves `compensating`,
        # and resume finishes the rollback instead of taking the step as done
        self.journal.record(
            run.run_id, step_id, S.COMPENSATING, at=self.env.clock.wall(), detail={"undo": undo}
        )
        try:
            result = (
                StepResult(ok=False, reason=unbound)
                if unbound
                else self.execute(compensation, self.env, run)
            )
        except GateStopped as stop:
            result = StepResult(ok=False, reason=stop.reason)
        status = S.COMPENSATED if result.ok else S.COMPENSATION_FAILED
        reason = self.redactor.text(result.reason)
        self.journal.record(
            run.run_id,
            step_id,
            status,
            at=self.env.clock.wall(),
            exit_code=result.exit_code,
            duration=result.duration,
            output_tail=self.redactor.text(result.tail()),
            reason=reason,
            detail={"undo": undo},
        )
        self.emit(Compensated(step_id, undo, status.value, reason))
        return result
