"""Draw a plan's step graph as a Mermaid flowchart, so the docs show the flow at a glance.

Steps run top to bottom; a branch fans out with labelled edges; gates are diamonds;
a ``Diagnosis`` is a terminal leaf labelled with its finding (no edge on from it);
undo steps hang off the step they compensate on dashed edges; a tagged step shows
its tags after its title, so `--only-tags`/`--skip-tags` can be read off the picture.
Pure: data in, text out.
"""

from __future__ import annotations

from opsbooks.define.specs import BranchSpec
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.render import diagnosis
from opsbooks.render.sections import flow_nodes

START = "start"
DONE = "done"


def node_id(step_id: str) -> str:
    """Prefix step ids so none collides with Mermaid keywords such as ``end``."""
    return f"step_{step_id.replace('.', '__')}"  # a step in a section: a.b is a__b


def label(text: str) -> str:
    """Quote a label so Mermaid shows it literally (quotes and angle brackets escaped)."""
    safe = (
        text.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )
    return f'"{safe}"'


def _node(planned: PlannedStep, number: str) -> str:
    title = f"{number}. {planned.title}" if number else f"undo: {planned.title}"
    if planned.tags:  # only tagged steps: an untagged flow reads exactly as before
        title += f" [{', '.join(planned.tags)}]"
    if planned.when is not None:
        title += f" (when {planned.when})"
    text = label(title)
    ident = node_id(planned.id)
    if planned.kind == diagnosis.KIND:  # a leaf: a terminal labelled with its finding
        return f"    {ident}([{label(diagnosis.flow_label(planned, number))}])"
    if planned.kind == "gate":
        return f"    {ident}{{{text}}}"
    if planned.kind == "branch":
        return f"    {ident}{{{{{text}}}}}"
    if planned.kind == "manual":
        return f"    {ident}[/{text}/]"
    if planned.kind == "subrun":  # a linked run: Mermaid's subroutine shape
        return f"    {ident}[[{text}]]"
    return f"    {ident}[{text}]"


def _edges(plan: Plan) -> list[str]:
    steps = plan.steps
    lines = [f"    {START} --> {node_id(steps[0].id)}"]
    for index, planned in enumerate(steps):
        following = node_id(steps[index + 1].id) if index + 1 < len(steps) else DONE
        spec = planned.spec
        if isinstance(spec, BranchSpec):
            for value, target in [*spec.routes.items(), *spec.cases]:
                lines.append(f"    {node_id(planned.id)} -->|{label(value)}| {node_id(target)}")
            fallback = node_id(spec.default) if spec.default else following
            lines.append(f"    {node_id(planned.id)} -->|{label('otherwise')}| {fallback}")
            continue
        if planned.kind != diagnosis.KIND:  # a leaf ends the run: no edge on from it
            lines.append(f"    {node_id(planned.id)} --> {following}")
    return lines


def _undo_lines(plan: Plan) -> list[str]:
    lines: list[str] = []
    for planned in [*plan.steps, *plan.compensations.values()]:
        if planned.undo is None or planned.undo not in plan.compensations:
            continue
        undo = plan.compensations[planned.undo]
        lines.append(f"    {node_id(planned.id)} -.->|{label('undo')}| {node_id(undo.id)}")
    return lines


def render_flow(plan: Plan) -> str:
    """Return the flowchart source (without the surrounding Markdown fence)."""
    lines = ["flowchart TD", f'    {START}(["Start"])']
    if plan.sections:  # each section's nodes in a subgraph, numbered 2.1, 2.2
        lines.extend(flow_nodes(plan, _node))
    for number, planned in enumerate(plan.steps if not plan.sections else (), start=1):
        lines.append(_node(planned, str(number)))
    for planned in plan.compensations.values():
        lines.append(_node(planned, ""))
    lines.append(f'    {DONE}(["Done"])')
    lines.extend(_edges(plan))
    lines.extend(_undo_lines(plan))
    for planned in plan.compensations.values():
        lines.append(f"    class {node_id(planned.id)} undo")
    if plan.compensations:
        lines.append("    classDef undo stroke-dasharray: 4 3")
    lines.extend(diagnosis.flow_classes(plan, node_id))
    return "\n".join(lines) + "\n"
