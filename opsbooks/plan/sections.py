"""Sections of a plan: numbering (1, 2, 2.1, 2.2, 3), the enclosing chain of a step, and
``--start-at`` / ``--skip`` given a section id. Pure, read by the runner and renderers.

A step's section is its id without the last part (``stop_nginx.stop`` is in
``stop_nginx``); sections are contiguous in the plan's order because they are
collected depth first, so numbering needs only the step order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opsbooks.define.sections import SectionInfo
from opsbooks.errors import BadInput

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook
    from opsbooks.plan.binding import Plan

__all__ = [
    "SectionInfo",
    "chain",
    "expand",
    "heading",
    "headings",
    "numbering",
    "prefix",
    "sections_shape",
]


def chain(step_id: str) -> list[str]:
    """The ids of the sections enclosing ``step_id``, outermost first."""
    parts = step_id.split(".")[:-1]
    return [".".join(parts[: n + 1]) for n in range(len(parts))]


def numbering(step_ids: Sequence[str]) -> dict[str, str]:
    """Number steps and sections in order: top-level items 1, 2, ...; inside one, 2.1."""
    numbers: dict[str, str] = {}
    counters = [0]
    opened: list[str] = []
    for step_id in step_ids:
        wanted = chain(step_id)
        common = 0
        while common < min(len(opened), len(wanted)) and opened[common] == wanted[common]:
            common += 1
        opened, counters = opened[:common], counters[: common + 1]
        for section in wanted[common:]:
            counters[-1] += 1
            numbers[section] = ".".join(map(str, counters))
            opened.append(section)
            counters.append(0)
        counters[-1] += 1
        numbers[step_id] = ".".join(map(str, counters))
    return numbers


def prefix(number: str) -> str:
    """How a number leads a title: ``1. `` at the top (as always), ``2.1 `` inside."""
    return f"{number}. " if "." not in number else f"{number} "


def heading(info: SectionInfo, numbers: Mapping[str, str]) -> str:
    return f"{prefix(numbers.get(info.id, ''))}{info.title}".strip()


def headings(the_plan: Plan, step_id: str) -> tuple[str, ...]:
    """The headings of the sections enclosing a forward step, outermost first."""
    if "." not in step_id or not the_plan.sections:
        return ()
    numbers = numbering(the_plan.ids())
    infos = {info.id: info for info in the_plan.sections}
    return tuple(heading(infos[s], numbers) for s in chain(step_id) if s in infos)


def expand(
    runbook: type[Runbook], start_at: str | None, skip: Iterable[str]
) -> tuple[str | None, tuple[str, ...]]:
    """``--start-at SECTION`` starts at its first step; ``--skip SECTION`` skips them all.

    An id that is neither a step nor a section is bad input listing both (only for a
    runbook with sections: others keep the message they always had).
    """
    skip = tuple(skip)
    if not runbook.sections:
        return start_at, skip
    ids = [s.id for s in runbook.steps]
    known = {info.id for info in runbook.sections}
    for wanted, flag in [(start_at, "--start-at")] + [(s, "--skip") for s in skip]:
        if wanted is not None and wanted not in ids and wanted not in known:
            raise BadInput(
                f"{flag} {wanted}: {runbook.name} has no step or section {wanted!r}; "
                f"its sections are: {', '.join(sorted(known))}; its steps are: {', '.join(ids)}"
            )

    def members(wanted: str) -> list[str]:
        return [sid for sid in ids if sid.startswith(wanted + ".")] if wanted in known else []

    if start_at in known:
        start_at = members(start_at)[0]
    expanded = [m for wanted in skip for m in (members(wanted) or [wanted])]
    return start_at, tuple(dict.fromkeys(expanded))


def sections_shape(runbook: type[Runbook]) -> dict[str, Any]:
    """What the sections add to the fingerprint: nothing for a runbook without any.

    An include's param templates change what its steps run with, so they count, and so
    does a node-first roll-out (only for such a section: other fingerprints stay as they were).
    """
    if not runbook.sections:
        return {}
    shape: list[list[Any]] = [[s.id, s.include, list(s.include_params)] for s in runbook.sections]
    for row, info in zip(shape, runbook.sections, strict=True):
        if info.rollout is not None:  # node-first: the order hosts are touched in differs
            rollout = info.rollout
            row.append(["per_host", rollout.batch_size, str(rollout.max_failures), rollout.pause])
    return {"sections": shape}
