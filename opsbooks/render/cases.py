"""How a ``Branch(cases=...)`` and an expression read on a page and in a dry run. Pure."""

from __future__ import annotations

from collections.abc import Callable

from opsbooks.define.conditions import compile_when, is_simple
from opsbooks.define.evaluate import Scope, known
from opsbooks.define.expressions import ExpressionError
from opsbooks.define.params import param_values
from opsbooks.define.specs import BranchSpec
from opsbooks.plan.binding import Plan, PlannedStep


def cases_body(spec: BranchSpec, link: Callable[[str], str]) -> list[str]:
    """The page paragraph: each case in order, then where the branch goes otherwise."""
    out = ["Go to the first case that holds:", ""]
    out.extend(f"{n}. `{expr}` → {link(target)}" for n, (expr, target) in enumerate(spec.cases, 1))
    otherwise = link(spec.default) if spec.default else "continue with the next step"
    out.append(f"{len(spec.cases) + 1}. otherwise → {otherwise}")
    return ["\n".join(out)]


def cases_dry(planned: PlannedStep) -> list[str]:
    """The dry-run lines: the branch's text, and the case the params decide, if they do."""
    spec = planned.spec
    out = [planned.text] if planned.text else []
    if isinstance(spec, BranchSpec) and spec.cases:
        out.append(
            f"decided by the params: {spec.decided}"
            if spec.decided
            else "decided when it runs (it depends on answers or outputs)"
        )
    return out


def when_known(planned: PlannedStep, plan: Plan) -> str:
    """`` (true from the params)`` when the params alone decide a step's expression.

    Empty for callables, for the simple form ``when=`` always had (so existing dry runs
    do not change), for a plan without params, and when answers or outputs decide it.
    """
    when = planned.condition
    if not isinstance(when, str) or is_simple(when) or plan.params is None:
        return ""
    names = set(type(plan.params).model_fields)
    names |= {p.id for p in plan.all_steps() if p.kind == "gate"}
    try:
        held = known(compile_when(when, names), Scope(param_values(plan.params), partial=True))
    except ExpressionError:
        return ""
    if held is None:
        return " (decided when it runs)"
    return " (true from the params: it runs)" if held else " (false from the params: skipped)"
