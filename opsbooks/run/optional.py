"""The optional part a declined ``on_decline="skip"`` gate leaves out of a run.

The rule, one sentence: a "no" at an optional gate skips the rest of the gate's own
section (when it is in one) and every step whose ``when=`` names the gate. The second
half is the ``when=`` machinery itself; this module is the first half. The decision
reads only the plan and the run's answers, so a resume (answers replayed from the
journal) skips the same steps.
"""

from __future__ import annotations

from opsbooks.define.specs import GateSpec
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.optional import section_of
from opsbooks.run.state import RunState


def declined_part(planned: PlannedStep, the_plan: Plan, run: RunState) -> str | None:
    """Why ``planned`` is skipped as part of a declined optional section, or None."""
    ids = the_plan.ids()
    for gate_id, answer in run.answers.items():
        if answer is not False or gate_id not in ids:
            continue
        gate = the_plan.get(gate_id)
        spec = gate.spec
        if not isinstance(spec, GateSpec) or spec.on_decline != "skip":
            continue
        section = section_of(gate_id, the_plan)
        inside = section is not None and planned.id.startswith(section + ".")
        if inside and planned.id in ids and ids.index(planned.id) > ids.index(gate_id):
            return f"optional gate {gate_id} was declined: the rest of section {section} is skipped"
    return None
