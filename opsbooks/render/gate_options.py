"""The lines a page and a dry run add for a gate's ``secret``, ``on_decline`` and
``yes_default``.

Kept out of ``render.kinds`` so each gate option is said the same way in both places.
"""

from __future__ import annotations

from opsbooks.define.specs import GateSpec
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.optional import declined_skips

#: What a secret gate's page and dry run say: the operator must expect the question again.
SECRET_NOTE = "Secret: never stored, asked again on resume"


def gate_options(planned: PlannedStep, the_plan: Plan | None) -> list[str]:
    """Sentences for the gate's options; none for a gate that uses none."""
    spec = planned.spec
    if not isinstance(spec, GateSpec):
        return []
    out = [SECRET_NOTE] if spec.secret else []
    if spec.on_decline == "skip":
        optional = [] if the_plan is None else depending_on(planned.id, the_plan)
        listed = ", ".join(f"`{step_id}`" for step_id in optional)
        then = (
            f"skips {listed}" if listed else "skips the rest of its section and its `when=` steps"
        )
        out.append(f"Optional: declining records the answer no, {then}, and the run goes on")
    if spec.yes_default:
        out.append(f"With `--yes`: answered with the default `{spec.default}`")
    if spec.approvers:
        out.append(approvals_sentence(spec, planned.id))
    return out


def approvals_sentence(spec: GateSpec, gate_id: str) -> str:
    """What a gate with ``approvers`` needs, and how to give it."""
    count = f"{spec.quorum} signed approval{'s' if spec.quorum != 1 else ''}"
    starter = ", not from the person who started the run" if spec.four_eyes else ""
    return (
        f"Needs {count} from role {spec.approvers}{starter}; give them with "
        f"`opsbooks approve RUN {gate_id}` (or `opsbooks deny RUN {gate_id} --reason TEXT`), "
        f"neither `--yes` nor an answers file answers it"
    )


def depending_on(gate_id: str, the_plan: Plan) -> list[str]:
    """What a decline skips (``plan.optional.declined_skips``: the prompt says the same)."""
    return declined_skips(gate_id, the_plan)
