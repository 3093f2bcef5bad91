"""Decide whether a step's ``when`` holds for this run's params and answers."""

from __future__ import annotations

from opsbooks.define.conditions import parse_when
from opsbooks.define.params import param_values
from opsbooks.plan.binding import PlannedStep
from opsbooks.run.execute import StepEnv
from opsbooks.run.kinds import route_key
from opsbooks.run.state import RunState


def condition_holds(planned: PlannedStep, env: StepEnv, run: RunState) -> tuple[bool, str]:
    """Evaluate ``when``; return whether to run and, if not, why it is skipped."""
    when = planned.condition
    if when is None:
        return True, ""
    values = {**param_values(env.params), **run.answers}
    if callable(when):
        holds = bool(when(values))
        return holds, "" if holds else f"condition {planned.when} is false"
    negate, name, op, literal = parse_when(when)
    value = values.get(name)
    holds = bool(value) if op is None else (route_key(value) == literal) == (op == "==")
    holds = holds != negate
    return holds, "" if holds else f"when {when!r} is false ({name}={route_key(value)})"
