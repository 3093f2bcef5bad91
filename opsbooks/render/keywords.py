"""How the keywords every step kind shares read in a page and in a dry run. Pure.

Each line appears only when the keyword is set, so the page and the dry run of a
runbook that uses none of them stay as they were, byte for byte.
"""

from __future__ import annotations

from opsbooks.plan.binding import PlannedStep
from opsbooks.render.md_text import prose

_ON_FAILURE = {
    "continue": "the run goes on (a non-critical step); it then ends with warnings",
    "stop": "the run stops here without a rollback; fix the cause and resume",
}

_DRY_ON_FAILURE = {
    "continue": "continue (the run goes on, and ends with warnings)",
    "stop": "stop (no rollback; the run can be resumed)",
}


def keyword_facts(planned: PlannedStep) -> list[str]:
    """The step's facts list entries for the shared keywords it sets."""
    facts: list[str] = []
    if planned.note:
        facts.append(f"- **Note at run time:** {prose(planned.note)}")
    if planned.tags:
        facts.append("- **Tags:** " + ", ".join(f"`{tag}`" for tag in planned.tags))
    if planned.on_failure in _ON_FAILURE:
        facts.append(f"- **If it fails:** {_ON_FAILURE[planned.on_failure]}")
    if planned.setup:
        facts.append(
            "- **Setup:** runs on every run and every resume, even with `--start-at` "
            "or a tag selection"
        )
    if planned.rerun_on_resume:
        facts.append("- **Re-run on resume:** a read-only probe, run again for a fresh result")
    if planned.quiet:
        facts.append("- **Quiet:** its output is kept off the console (still journaled)")
    if planned.marks:
        marked = ", ".join(f"`{mark}`" for mark in planned.marks)
        facts.append(f"- **Records:** {marked}: the time it succeeds, and who")
    return facts


def keyword_dry_run(planned: PlannedStep) -> list[str]:
    """The dry-run lines (unindented) for the shared keywords the step sets."""
    lines: list[str] = []
    if planned.note:
        lines.append(f"note: {planned.note}")
    if planned.tags:
        lines.append(f"tags: {', '.join(planned.tags)}")
    if planned.on_failure in _ON_FAILURE:
        lines.append(f"on failure: {_DRY_ON_FAILURE[planned.on_failure]}")
    if planned.setup:
        lines.append("setup: runs even with --start-at, a tag selection, or on resume")
    if planned.rerun_on_resume:
        lines.append("re-run on resume: yes (a read-only probe)")
    if planned.quiet:
        lines.append("quiet: output kept off the console")
    if planned.marks:
        lines.append(f"records: {', '.join(planned.marks)}")
    return lines
