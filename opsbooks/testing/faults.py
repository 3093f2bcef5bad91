"""Failure injection for drills: fail chosen steps without running them.

Lives in the test kit, not in the production path: the drill wraps the runner's step
executor (``Surroundings.intercept``), so a rehearsal of a rollback needs no code in
the engine that production runs would carry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from opsbooks.plan.binding import PlannedStep
from opsbooks.run.execute import Executor, StepEnv
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState


def inject_failures(failures: Mapping[str, str]) -> Callable[[Executor], Executor]:
    """Wrap an executor so each step id in ``failures`` fails with that reason."""
    chosen = dict(failures)

    def wrap(execute: Executor) -> Executor:
        def failing(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
            if planned.id in chosen:
                return StepResult(ok=False, reason=f"injected failure: {chosen[planned.id]}")
            return execute(planned, env, run)

        return failing

    return wrap
