"""Sections in every view of a plan: page headings, dry-run lines, Mermaid subgraphs,
report rows and console headings. Pure; each view calls one helper here and keeps
its own step rendering, so a plan without sections renders exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.sections import SectionInfo, chain, heading, numbering, prefix
from opsbooks.render.md_text import block

StepText = Callable[[PlannedStep, str, int], str]


def section_anchor(section_id: str) -> str:
    return f"section-{section_id}"


def section_node(section_id: str) -> str:
    """A Mermaid-safe id: dots are not allowed in node ids."""
    return "section_" + section_id.replace(".", "__")


def _opened(plan: Plan) -> list[tuple[PlannedStep, list[SectionInfo], int]]:
    """Each forward step with the sections that start at it and how deep it sits."""
    infos = {info.id: info for info in plan.sections}
    out: list[tuple[PlannedStep, list[SectionInfo], int]] = []
    current: list[str] = []
    for planned in plan.steps:
        wanted = [s for s in chain(planned.id) if s in infos]
        common = 0
        while common < min(len(current), len(wanted)) and current[common] == wanted[common]:
            common += 1
        out.append((planned, [infos[s] for s in wanted[common:]], len(wanted)))
        current = wanted
    return out


def procedure(plan: Plan, step: StepText) -> str:
    """The page's Procedure: a heading per section, its steps numbered under it."""
    numbers = numbering(plan.ids())
    parts: list[str] = []
    for planned, started, depth in _opened(plan):
        parts += [_section_block(info, numbers) for info in started]
        parts.append(step(planned, prefix(numbers[planned.id]), min(3 + depth, 6)))
    return "\n\n".join(parts)


def _section_block(info: SectionInfo, numbers: Mapping[str, str]) -> str:
    level = "#" * min(3 + info.depth, 6)
    facts = f"**Section** · id `{info.id}`"
    if info.include:
        short = info.include.split(".", 1)[-1]
        facts += f" · includes [`{info.include}`](../{info.include_category}/{short}.md)"
        if info.include_params:
            given = ", ".join(f"`{name}` = `{value}`" for name, value in info.include_params)
            facts += f" with {given}"
    if info.rollout is not None:
        facts += f" · {info.rollout.describe()}"
    parts = [f'<a id="{section_anchor(info.id)}"></a>\n{level} {heading(info, numbers)}', facts]
    if info.description:
        parts.append(block(info.description))
    note = include_note(info)
    if note:
        parts.append(f"The steps below show the placeholders of `{info.include}` itself: {note}.")
    return "\n\n".join(parts)


def include_note(info: SectionInfo) -> str:
    """``read `{host}` as `{target}.internal``` for an Include's templated params, or ''.

    A page is planned without param values, so an included step keeps the included
    runbook's own placeholders (``{host}``) while ``{runbook}`` is filled in; the note
    says what each stands for in the including runbook, wherever such a step is shown.
    """
    mapped = [(n, v) for n, v in info.include_params if "{" in v and v != f"{{{n}}}"]
    return "read " + ", ".join(f"`{{{n}}}` as `{v}`" for n, v in mapped) if mapped else ""


def include_notes(step_id: str, plan: Plan) -> list[str]:
    """The notes of the Include sections around ``step_id`` (an undo shown outside them)."""
    infos = {info.id: info for info in plan.sections}
    out = []
    for section in chain(step_id):
        info = infos.get(section)
        note = "" if info is None else include_note(info)
        if info is not None and note:
            out.append(f"In [{info.title}](#{section_anchor(info.id)}), {note}.")
    return out


def dry_run(plan: Plan, step: Callable[[str, PlannedStep], list[str]]) -> list[str]:
    """The dry run's step lines with a line per section; steps indented by depth."""
    numbers = numbering(plan.ids())
    lines: list[str] = []
    for planned, started, depth in _opened(plan):
        for info in started:
            what = f"includes {info.include}" if info.include else "section"
            what += f"; {info.rollout.describe()}" if info.rollout is not None else ""
            number = numbers[info.id]
            lines.append(f"{'  ' * info.depth}{number:>3}. {info.id}: {info.title} [{what}]")
        lines += [f"{'  ' * depth}{line}" for line in step(numbers[planned.id], planned)]
    return lines


def flow_nodes(plan: Plan, node: Callable[[PlannedStep, str], str]) -> list[str]:
    """Mermaid node lines, each section's nodes inside a ``subgraph``."""
    from opsbooks.render.mermaid import label

    numbers = numbering(plan.ids())
    lines: list[str] = []
    depth = 0  # subgraphs open
    for planned, started, wanted in _opened(plan):
        while depth > wanted - len(started):
            depth -= 1
            lines.append("    " + "  " * depth + "end")
        for info in started:
            shown = f"{numbers[info.id]}. {info.title}"  # as its nodes are numbered
            if info.rollout is not None:  # the subgraph says the order differs
                shown += f" (node-first, {info.rollout.batch_size} host(s) at a time)"
            title = label(shown)
            lines.append("    " + "  " * depth + f"subgraph {section_node(info.id)}[{title}]")
            depth += 1
        lines.append("  " * depth + node(planned, numbers[planned.id]))
    while depth:
        depth -= 1
        lines.append("    " + "  " * depth + "end")
    return lines


def report_rows(
    steps: Sequence[dict[str, Any]], sections: Mapping[str, str], row: Callable[[Any], str]
) -> list[str]:
    """The report's step rows, with a bold row naming each section as it starts."""
    lines: list[str] = []
    current: list[str] = []
    for entry in steps:
        wanted = [s for s in chain(str(entry["step"])) if s in sections]
        lines += [f"| **{sections[s]}** | | | | | |" for s in wanted if s not in current]
        current = wanted
        lines.append(row(entry))
    return lines


def section_titles(plan: Plan) -> dict[str, str]:
    """Each section's numbered heading, by id (what reports and the console show)."""
    numbers = numbering(plan.ids())
    return {info.id: heading(info, numbers) for info in plan.sections}


class Headings:
    """The console's memory of the section it is in: it prints a heading once, on entry."""

    def __init__(self) -> None:
        self._shown: tuple[str, ...] = ()

    def lines(self, headings: tuple[str, ...]) -> str | None:
        common = 0
        while common < min(len(self._shown), len(headings)):
            if self._shown[common] != headings[common]:
                break
            common += 1
        self._shown = headings
        new = [f"{'  ' * depth}== {text} ==" for depth, text in enumerate(headings)][common:]
        return "\n".join(new) or None
