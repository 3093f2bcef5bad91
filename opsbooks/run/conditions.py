"""Decide whether a step's ``when`` holds for this run's params, answers and outputs."""

from __future__ import annotations

from opsbooks.define.conditions import compile_when
from opsbooks.define.evaluate import Scope, described, holds
from opsbooks.define.expressions import ExpressionError, parse
from opsbooks.define.params import param_values
from opsbooks.define.specs import BranchSpec
from opsbooks.errors import StepFailed
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.run.execute import StepEnv
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState


def condition_holds(planned: PlannedStep, env: StepEnv, run: RunState) -> tuple[bool, str]:
    """Evaluate ``when``; return whether to run and, if not, why it is skipped.

    An expression that cannot be decided (an output the step needs was never
    published, text ordered against a number) fails the step with the reason.
    """
    when = planned.condition
    if when is None:
        return True, ""
    params = param_values(env.params)
    if callable(when):
        holds_now = bool(when({**params, **run.answers}))
        return holds_now, "" if holds_now else f"condition {planned.when} is false"
    scope = run_scope(env.plan, run)
    try:
        node = compile_when(when, known_names(env.plan))
        holds_now = holds(node, scope)
    except ExpressionError as exc:
        raise StepFailed(planned.id, f"cannot decide when={when!r}: {exc}") from None
    return holds_now, "" if holds_now else f"when {when!r} is false ({described(node, scope)})"


def known_names(plan: Plan) -> set[str]:
    """What a bare word in an expression can name: the params and the gates."""
    params = set(type(plan.params).model_fields) if plan.params is not None else set()
    return params | {p.id for p in plan.all_steps() if p.kind == "gate"}


def run_scope(plan: Plan, run: RunState) -> Scope:
    """Names as this run knows them: params, the answers and the outputs so far."""
    return Scope(params=param_values(plan.params), answers=run.answers, outputs=run.outputs)


def choose_case(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    """A ``Branch(cases=...)``: route to the first case that holds, else its default.

    With no default and no case holding, the run goes on with the next step.
    """
    spec: BranchSpec = planned.spec
    scope = run_scope(env.plan, run)
    for expr, target in spec.cases:
        try:
            node = parse(expr)
            held = holds(node, scope)
        except ExpressionError as exc:
            return StepResult(ok=False, reason=f"cannot decide the case {expr!r}: {exc}")
        if held:
            return StepResult(
                ok=True, route=target, output=f"{expr} holds ({described(node, scope)}) -> {target}"
            )
    if spec.default:
        return StepResult(ok=True, route=spec.default, output=f"no case holds -> {spec.default}")
    return StepResult(ok=True, output="no case holds -> the next step")
