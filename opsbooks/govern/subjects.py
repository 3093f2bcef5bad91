"""What the linter reads of a runbook, gathered once: its plan's facts, step by step.

Pure: built from the definition and its unbound plan (no journal, no git). A lint rule
reads these frozen records, so a rule never imports a step class or walks a runbook.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsbooks.define.argv import DashPosition, dash_positions
from opsbooks.define.runbook import Runbook
from opsbooks.plan import RunbookInfo, plan

#: kinds that change something, so a failure half-way needs an undo or a stated reason
MUTATING = frozenset({"command", "python", "remote", "upload"})
#: kinds that run on inventory hosts, where a crash mid-rollout leaves hosts in doubt
REMOTE = frozenset({"remote", "upload"})


@dataclass(frozen=True)
class StepFacts:
    """One forward step as the rules see it."""

    id: str
    kind: str
    automated: bool
    description: str
    undo: str | None
    irreversible: str
    idempotent: bool
    #: a read-only probe (``rerun_on_resume``): it changes nothing, so needs no undo
    probe: bool

    @property
    def mutating(self) -> bool:
        return self.kind in MUTATING and not self.probe


@dataclass(frozen=True)
class Subject:
    """A runbook to lint: its info, steps, argv dash positions and module."""

    info: RunbookInfo
    steps: tuple[StepFacts, ...]
    dash: tuple[DashPosition, ...]
    module: str


def subject_of(runbook: type[Runbook]) -> Subject:
    """Gather the facts of ``runbook`` from its unbound plan."""
    the_plan = plan(runbook)
    reasons = {s.id: str(getattr(s, "irreversible", "") or "") for s in runbook.steps}
    steps = tuple(
        StepFacts(
            id=p.id,
            kind=p.kind,
            automated=p.automated,
            description=p.description,
            undo=p.undo,
            irreversible=reasons.get(p.id, ""),
            idempotent=p.idempotent,
            probe=p.rerun_on_resume,
        )
        for p in the_plan.steps
    )
    return Subject(
        info=the_plan.info,
        steps=steps,
        dash=tuple(dash_positions(runbook)),
        module=runbook.__module__,
    )
