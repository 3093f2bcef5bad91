"""Read a run's journal from inside a Python step: its transitions, gate answers, facts,
and the runs linked to it.

``StepContext`` hands a step the run's configuration and working directory, not the
journal (steps are pure of it: the runner owns every write). A step that reports on its
own run (a post-incident review, a timeline) or on the run that started it (a linked
run carrying its parent's incident facts) reads it here, read-only, through the same
journal URL the run writes to::

    from opsbooks.edges.run_journal import parent_run, read_run

    def review(self, ctx: ob.StepContext) -> str:
        record = read_run(ctx)             # this run, and its linked runs
        parent = parent_run(ctx)           # the run whose SubRun started this one
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from opsbooks.define.context import StepContext
from opsbooks.edges.config import Config
from opsbooks.records.journal import (
    FactRecord,
    GateRecord,
    Journal,
    RunRecord,
    Transition,
    open_journal,
)
from opsbooks.run.subrun import CHILD_RUN

__all__ = ["RunJournal", "parent_run", "read_run"]


@dataclass(frozen=True)
class RunJournal:
    """One run as journaled so far, with the linked runs its SubRun steps started."""

    run: RunRecord
    transitions: tuple[Transition, ...]
    gates: tuple[GateRecord, ...]
    facts: tuple[FactRecord, ...]
    children: tuple[RunJournal, ...] = ()

    def fact(self, name: str) -> FactRecord | None:
        """The latest fact ``name`` of this run, or None."""
        found = [f for f in self.facts if f.name == name]
        return found[-1] if found else None

    def walk(self) -> Iterator[RunJournal]:
        """This run, then each linked run, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@contextmanager
def _journal(ctx: StepContext) -> Iterator[Journal]:
    config = Config.model_validate(dict(ctx.config))
    config.root = ctx.workdir
    from opsbooks.edges.session import journal_url  # the engine: when a step runs, not to list

    journal = open_journal(journal_url(config))
    try:
        yield journal
    finally:
        journal.close()


def read_run(ctx: StepContext, run_id: str | None = None, *, linked: bool = True) -> RunJournal:
    """Read ``run_id`` (default: the step's own run) and, with ``linked``, its linked runs."""
    with _journal(ctx) as journal:
        return _read(journal, run_id or ctx.run_id, linked, depth=0)


def _read(journal: Journal, run_id: str, linked: bool, depth: int) -> RunJournal:
    transitions = tuple(journal.transitions(run_id))
    children: list[RunJournal] = []
    if linked and depth < 10:
        seen: list[str] = []
        for t in transitions:
            child = t.detail.get(CHILD_RUN)
            if child and str(child) not in seen:
                seen.append(str(child))
        children = [_read(journal, c, linked, depth + 1) for c in seen]
    return RunJournal(
        run=journal.get_run(run_id),
        transitions=transitions,
        gates=tuple(journal.gates(run_id)),
        facts=tuple(journal.facts(run_id)),
        children=tuple(children),
    )


def parent_run(ctx: StepContext, *, search: int = 200) -> str | None:
    """The run whose ``SubRun`` step started this run, or None for a run started directly.

    The parent journals the link as the child begins, so it is there from the child's
    first step on; the newest ``search`` runs are looked at.
    """
    with _journal(ctx) as journal:
        for run in journal.runs(limit=search):
            if run.id == ctx.run_id:
                continue
            for t in journal.transitions(run.id):
                if str(t.detail.get(CHILD_RUN, "")) == ctx.run_id:
                    return run.id
    return None
