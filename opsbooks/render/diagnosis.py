"""How a ``Diagnosis`` leaf reads on a page, in a dry run and in the flowchart. Pure.

On the page a leaf shows its finding, its resolution and its commands (a code block
a person copies); the dry run lists the leaves a run can end at; the flowchart draws
each leaf as a terminal node labelled with its finding (escalations marked).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opsbooks.define.diagnosis import DiagnosisSpec
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.render.md_text import block, fence, prose

KIND = "diagnosis"


def _spec(planned: PlannedStep) -> DiagnosisSpec:
    spec = planned.spec
    assert isinstance(spec, DiagnosisSpec)
    return spec


def diagnosis_body(planned: PlannedStep, _plan: Plan) -> list[str]:
    """The page paragraphs: the finding, what to do, the commands, who to escalate to."""
    spec = _spec(planned)
    out = [f"Finding: **{prose(spec.finding)}**"]
    if spec.resolution:
        out.append(f"Resolution: {block(spec.resolution)}")
    if spec.commands:
        out += ["Commands (shown to the operator, not run):", fence("\n".join(spec.commands), "sh")]
    if spec.escalate:
        out.append(
            f"Escalate to **{spec.escalate}**: the contact of that level under "
            "[Contacts and escalation](#contacts-and-escalation)."
        )
    out.append("Reaching this step ends the run successfully; later steps are skipped.")
    return out


def diagnosis_dry(planned: PlannedStep) -> list[str]:
    """The dry-run lines under the step: its finding, resolution, commands, escalation."""
    spec = _spec(planned)
    out = [f"finding: {spec.finding}"]
    if spec.resolution:
        out.append(f"resolution: {spec.resolution}")
    out.extend(f"shows (not run): $ {command}" for command in spec.commands)
    if spec.escalate:
        out.append(f"escalates to {spec.escalate}")
    out.append("ends the run here (succeeded); later steps are skipped")
    return out


def leaves_dry(plan: Plan) -> list[str]:
    """The dry run's summary of the tree: every leaf a run can end at, with its finding."""
    leaves = [p for p in plan.steps if p.kind == KIND]
    if not leaves:
        return []
    lines = ["Diagnoses (the run ends at the first one it reaches):"]
    for planned in leaves:
        escalate = _spec(planned).escalate
        marked = f" (escalates to {escalate})" if escalate else ""
        lines.append(f"  {planned.id}: {_spec(planned).finding}{marked}")
    return lines


def reached_lines(facts: Sequence[Mapping[str, Any]]) -> list[str]:
    """The run report's summary line: the diagnosis the run ended at, from its facts."""
    found = {str(f["name"]): f.get("value") for f in facts}
    if not found.get("diagnosis"):
        return []
    line = f"- Diagnosis: `{found['diagnosis']}`: {found.get('diagnosis.finding') or ''}"
    escalated = found.get("escalated")
    return [line.rstrip(": ") + (f" (escalated to {escalated})" if escalated else "")]


def flow_label(planned: PlannedStep, number: str) -> str:
    """A leaf's flowchart label: its number and finding, and the level it escalates to."""
    spec = _spec(planned)
    text = f"{number}. {spec.finding}" if number else spec.finding
    text += f" (when {planned.when})" if planned.when is not None else ""
    return f"{text} (escalate to {spec.escalate})" if spec.escalate else text


def flow_classes(plan: Plan, node_id: Callable[[str], str]) -> list[str]:
    """``class`` lines marking leaves (and escalation leaves), with their styles."""
    leaves = [p for p in plan.steps if p.kind == KIND]
    if not leaves:
        return []
    lines = []
    for planned in leaves:
        style = "escalation" if _spec(planned).escalate else "diagnosis"
        lines.append(f"    class {node_id(planned.id)} {style}")
    lines.append("    classDef diagnosis stroke-width:3px")
    if any(_spec(p).escalate for p in leaves):
        lines.append("    classDef escalation stroke-width:3px,stroke-dasharray: 6 2")
    return lines
