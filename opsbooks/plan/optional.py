"""Which section a step is in, and what of it follows an optional gate. Pure.

Read by the runner (a declined ``on_decline="skip"`` gate skips the rest of its
section, and its prompt names what a no skips) and by the page and the dry run (which
list what a decline skips), so all three say the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from opsbooks.define.conditions import compile_when
from opsbooks.define.evaluate import Scope, known
from opsbooks.define.expressions import ExpressionError, Name
from opsbooks.define.params import param_values
from opsbooks.plan.binding import Plan, PlannedStep


def section_of(step_id: str, the_plan: Plan) -> str | None:
    """The innermost section enclosing ``step_id``, or None at the top level."""
    known = {info.id for info in the_plan.sections}
    parts = step_id.split(".")[:-1]
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in known:
            return candidate
    return None


def section_rest(gate_id: str, the_plan: Plan) -> list[str]:
    """The steps after ``gate_id`` in its own section (what a decline skips there)."""
    section = section_of(gate_id, the_plan)
    if section is None:
        return []
    ids = the_plan.ids()
    after = ids[ids.index(gate_id) + 1 :] if gate_id in ids else []
    return [step_id for step_id in after if step_id.startswith(section + ".")]


def declined_skips(gate_id: str, the_plan: Plan) -> list[str]:
    """What a decline skips: the rest of the gate's section, and the steps whose ``when=``
    names the gate (bare, or as ``answers.GATE``) and is false once its answer is no.

    ``when="warm"`` is listed and ``when="not warm"`` is not: the runner skips by the
    ``when=`` machinery with the answer ``False``, so the list must evaluate it the same
    way. A callable names nothing to evaluate and is listed when its description names
    the gate, as before.
    """
    name = re.compile(rf"(?<![\w.]){re.escape(gate_id)}(?!\w)|answers\.{re.escape(gate_id)}\b")
    guarded = [
        p.id
        for p in the_plan.steps
        if p.when is not None and name.search(p.when) and _skipped_by_no(p, gate_id, the_plan)
    ]
    rest = section_rest(gate_id, the_plan)
    return rest + [step_id for step_id in guarded if step_id not in rest]


@dataclass(frozen=True)
class _Declined(Scope):
    """A partial scope in which one gate is known to have been answered no."""

    gate: str = ""

    def value(self, name: Name) -> Any:
        if name.key == self.gate and (
            name.scope == "answers" or (not name.scope and name.key not in self.params)
        ):
            return False
        return super().value(name)


def _skipped_by_no(planned: PlannedStep, gate_id: str, the_plan: Plan) -> bool:
    """Whether ``planned``'s ``when=`` is surely false when gate ``gate_id`` said no."""
    when = planned.condition
    if not isinstance(when, str):
        return True
    names = set() if the_plan.params is None else set(type(the_plan.params).model_fields)
    names |= {p.id for p in the_plan.all_steps() if p.kind == "gate"}
    params = {} if the_plan.params is None else param_values(the_plan.params)
    try:
        held = known(compile_when(when, names), _Declined(params, partial=True, gate=gate_id))
    except ExpressionError:
        return True
    return held is False
