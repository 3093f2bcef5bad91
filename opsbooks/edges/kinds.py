"""Register a new step kind: its executor and its renderer entry, in one call.

A kind is one definition class (a ``Step`` subclass with its own ``kind`` name and a
``bind`` that returns a frozen spec), one executor and one renderer entry. The
definition class is the user's; this puts the other two where the runner and the
renderers find them, keyed by the kind's name.
"""

from __future__ import annotations

from collections.abc import Callable

from opsbooks.define.context import StepContext
from opsbooks.define.steps import Step
from opsbooks.errors import DefinitionError
from opsbooks.plan.binding import PlannedStep
from opsbooks.render.kinds import KindRenderer, register_renderer
from opsbooks.run.execute import StepEnv, register_executor, step_context, with_retry
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState

KindExecutor = Callable[[PlannedStep, StepContext], "StepResult | str | None"]


def register_step_kind(
    definition: type[Step],
    execute: KindExecutor,
    *,
    render: KindRenderer | None = None,
) -> None:
    """Make ``definition``'s steps runnable and renderable.

    ``execute(planned, ctx)`` runs one attempt: return a ``StepResult``, or a string
    (its output; the step succeeded) or None; raise to fail it. It runs under the
    step's ``retry``. ``ctx`` is the ``StepContext`` Python steps get (params, answers,
    outputs, ``run`` for commands, ``say``).
    """
    kind = definition.kind
    if not kind or kind == Step.kind:
        raise DefinitionError(
            definition.__name__, "a step kind needs its own `kind` name (a ClassVar)"
        )

    def executor(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
        def once() -> StepResult:
            try:
                done = execute(planned, step_context(planned, env, run))
            except Exception as exc:
                return StepResult(ok=False, reason=f"{type(exc).__name__}: {exc}")
            if isinstance(done, StepResult):
                return done
            return StepResult(ok=True, output="" if done is None else str(done))

        return with_retry(planned, env, once)

    register_executor(kind, executor)
    register_renderer(kind, render or KindRenderer(label=kind, dry_label=kind))


__all__ = ["KindExecutor", "KindRenderer", "register_step_kind"]
