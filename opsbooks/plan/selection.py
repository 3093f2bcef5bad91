"""Which steps a run selects (``--start-at``, ``--skip``, tags, ``setup``), decided at plan time.

Pure, like the rest of ``plan``: the decision is a step's ``skip_reason`` in the Plan,
so the dry run shows it, the journal records it and the runner only reads it. Also
how the shared step keywords (``define.base.Step``) reach a ``PlannedStep``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from opsbooks.define.base import Step, text
from opsbooks.errors import BadInput

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook
    from opsbooks.plan.binding import Plan, PlannedStep


def tag_list(given: Iterable[str]) -> tuple[str, ...]:
    """``--only-tags a,b --only-tags c`` -> ``("a", "b", "c")``: repeated or comma lists."""
    found = (part.strip() for item in given for part in item.split(","))
    return tuple(dict.fromkeys(tag for tag in found if tag))


@dataclass(frozen=True)
class Selection:
    """The operator's choice of steps for one run, checked against the runbook."""

    ids: tuple[str, ...]
    start_at: str | None
    skip: tuple[str, ...]
    only_tags: tuple[str, ...]
    skip_tags: tuple[str, ...]

    @classmethod
    def of(
        cls,
        runbook: type[Runbook],
        start_at: str | None,
        skip: Iterable[str],
        only_tags: Iterable[str],
        skip_tags: Iterable[str],
    ) -> Selection:
        """Raise ``BadInput`` for a tag no step carries: a typo must not skip everything."""
        only, without = tag_list(only_tags), tag_list(skip_tags)
        known = sorted({tag for item in runbook.steps for tag in item.tags})
        for flag, tags in (("--only-tags", only), ("--skip-tags", without)):
            for tag in tags:
                if tag not in known:
                    listed = f"its tags are: {', '.join(known)}" if known else "no step has tags"
                    raise BadInput(
                        f"{flag} {tag}: {runbook.name} has no step tagged {tag!r}; {listed}. "
                        f"Nothing was run."
                    )
        ids = tuple(item.id for item in runbook.steps)
        return cls(ids, start_at, tuple(skip), only, without)

    @cached_property
    def _at(self) -> dict[str, int]:
        """Each id's first position: ``ids.index`` per step made a ``--start-at`` plan
        (and every resume of such a run) quadratic in its steps."""
        positions: dict[str, int] = {}
        for number, step_id in enumerate(self.ids):
            positions.setdefault(step_id, number)
        return positions

    def skip_reason(self, item: Step) -> str | None:
        """Why ``item`` is left out of this run, or None; ``setup`` steps only by ``--skip``."""
        if item.setup:
            return "--skip" if item.id in self.skip else None
        if self.start_at and self._at[item.id] < self._at[self.start_at]:
            return f"before --start-at {self.start_at}"
        if item.id in self.skip:
            return "--skip"
        if self.only_tags and not set(item.tags) & set(self.only_tags):
            return f"not tagged {' or '.join(self.only_tags)} (--only-tags)"
        hit = [tag for tag in item.tags if tag in self.skip_tags]
        return f"tagged {hit[0]} (--skip-tags)" if hit else None


def keyword_fields(item: Step, values: Mapping[str, Any]) -> dict[str, Any]:
    """The shared keywords as ``PlannedStep`` fields; the note bound as shown (masked)."""
    return {
        "note": text(item.note, values) if item.note else None,
        "note_template": item.note,
        "tags": item.tags,
        "on_failure": item.on_failure,
        "setup": item.setup,
        "rerun_on_resume": item.rerun_on_resume,
        "quiet": item.quiet,
        "marks": item.marks,
    }


def keyword_dict(planned: PlannedStep) -> dict[str, Any]:
    """The keywords a planned step sets, for ``to_dict``: unset ones are left out."""
    found: dict[str, Any] = {}
    if planned.note:
        found["note"] = planned.note
    if planned.tags:
        found["tags"] = list(planned.tags)
    if planned.on_failure != "rollback":
        found["on_failure"] = planned.on_failure
    for flag in ("setup", "rerun_on_resume", "quiet"):
        if getattr(planned, flag):
            found[flag] = True
    if planned.marks:
        found["marks"] = list(planned.marks)
    return found


def chosen_steps(plan: Plan) -> dict[str, Any]:
    """What a run's record keeps of its step selection, so that resume plans the same."""
    return {
        "start_at": plan.start_at,
        "skip": list(plan.skip),
        **selection_dict(plan.only_tags, plan.skip_tags),
    }


def selection_dict(only_tags: tuple[str, ...], skip_tags: tuple[str, ...]) -> dict[str, Any]:
    """The tag selection of a run, for its records: nothing when no tag was chosen."""
    found: dict[str, Any] = {}
    if only_tags:
        found["only_tags"] = list(only_tags)
    if skip_tags:
        found["skip_tags"] = list(skip_tags)
    return found
