"""Linked runs (``SubRun``) at the composition root: start and resume child runs, and
read the links back for ``opsbooks history``.

A child is started with ``start_run`` and resumed with ``resume_run``, in the parent's
surroundings (the same terminal, backends, clock and ``--yes``), so it has its own
lock, journal rows, audit file and outcome. Its run id is journaled on the parent's
step the moment the child's run begins (a ``running`` record with ``child_run``), so
even a crash in the middle of the child leaves the link for the parent's resume.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from difflib import get_close_matches

from opsbooks.edges.clock import SystemClock
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.requests import Invocation, ResumeRequest, Surroundings
from opsbooks.errors import UnknownRunbook
from opsbooks.plan.state import StepStatus
from opsbooks.records.events import Event, RunStarted
from opsbooks.records.journal import Journal, RunRecord
from opsbooks.run.options import RunOptions
from opsbooks.run.subrun import CHILD_RUN, ChildOutcome, ChildRequest, linked_child


@dataclass(frozen=True)
class ChildLauncher:
    """The ``ChildRuns`` of one parent run: built once by ``edges.session``."""

    catalog: Catalog
    config: Config
    surroundings: Surroundings
    journal: Journal
    options: RunOptions
    who: str

    def linked(self, parent_run: str, step_id: str) -> ChildOutcome | None:
        child = linked_child(self.journal.transitions(parent_run), step_id)
        if child is None:
            return None
        record = self.journal.get_run(child)
        return ChildOutcome(record.id, record.outcome, record.reason or "")

    def start(self, request: ChildRequest) -> ChildOutcome:
        from opsbooks.edges.session import start_run

        invocation = Invocation(request.runbook, dict(request.params), self._options())
        report = start_run(invocation, self.config, self._around(request), self._catalog(request))
        assert report is not None  # never a dry run
        return ChildOutcome(report.run_id, report.outcome.value, report.reason)

    def resume(self, child_run: str, request: ChildRequest) -> ChildOutcome:
        from opsbooks.edges.session import resume_run

        wanted = ResumeRequest(child_run, self._options())
        report = resume_run(wanted, self.config, self._around(request), self._catalog(request))
        return ChildOutcome(report.run_id, report.outcome.value, report.reason)

    def _options(self) -> RunOptions:
        """What the child inherits of the operator's choice: ``--yes`` and ``--no-rollback``."""
        return RunOptions(yes=self.options.yes, no_rollback=self.options.no_rollback)

    def _catalog(self, request: ChildRequest) -> Catalog:
        """The parent's catalog, with the runbooks it links to when they are not in it."""
        if request.runbook in self.catalog.names():
            return self.catalog
        from opsbooks.define.subrun import linked_runbooks

        found = [r for parent in self.catalog for r in linked_runbooks(parent)]
        extra = {r.name: r for r in found if r.name not in self.catalog.names()}
        if request.runbook not in extra:  # a name bound at run time may be anything
            known = [*self.catalog.names(), *extra]
            raise UnknownRunbook(request.runbook, get_close_matches(request.runbook, known, n=3))
        return Catalog([*self.catalog, *extra.values()])

    def _around(self, request: ChildRequest) -> Surroundings:
        """The parent's surroundings, plus an observer that journals the link at once.

        Scripted answers are the parent's gates', not the child's, so they stay behind.
        """
        clock = self.surroundings.clock or SystemClock()
        linked: list[str] = []

        def link(event: Event) -> None:
            if isinstance(event, RunStarted) and not linked:
                linked.append(event.run_id)  # the child's own start; a grandchild's is later
                if not event.resumed:
                    self.journal.record(
                        request.parent_run,
                        request.step_id,
                        StepStatus.RUNNING,
                        at=clock.wall(),
                        who=self.who,
                        detail={CHILD_RUN: event.run_id},
                    )

        observers = (*self.surroundings.observers, link)
        return replace(self.surroundings, observers=observers, scripted=None)


def link_notes(journal: Journal, runs: Iterable[RunRecord]) -> dict[str, str]:
    """Run id -> ``child of RUN`` and/or ``children: A, B``, for linked runs only."""
    parents: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    for run in runs:
        for t in journal.transitions(run.id):
            child = t.detail.get(CHILD_RUN)
            if child and t.status is StepStatus.RUNNING:  # the link, written as it began
                children.setdefault(run.id, []).append(str(child))
                parents[str(child)] = run.id
    notes: dict[str, str] = {}
    for run_id in {*parents, *children}:
        parts = [f"child of {parents[run_id]}"] if run_id in parents else []
        if run_id in children:
            parts.append("children: " + ", ".join(dict.fromkeys(children[run_id])))
        notes[run_id] = "; ".join(parts)
    return notes
