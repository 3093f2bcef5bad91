"""Journal the facts a succeeded step established: its ``marks=`` and ``::fact`` lines.

Kept out of ``stepping`` because facts are a record of the run for people and
statistics (incident milestones, MTTR), not part of how a step runs. Each fact is
written after the step's ``succeeded`` transition, redacted like everything else, and
announced as an event so the audit trail carries it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsbooks.plan.binding import PlannedStep
from opsbooks.records.events import Event, FactRecorded
from opsbooks.records.facts import fact_lines
from opsbooks.records.journal.protocol import Journal
from opsbooks.records.journal.records import FactRecord
from opsbooks.records.redaction import Redactor
from opsbooks.run.outcome import StepResult

__all__ = ["record_facts"]


def record_facts(
    journal: Journal,
    emit: Callable[[Event], None],
    redactor: Redactor,
    planned: PlannedStep,
    run_id: str,
    result: StepResult,
    *,
    at: float,
    who: str,
) -> list[FactRecord]:
    """Record ``planned``'s facts; a gate's marks carry who answered it, and when."""
    found = fact_lines(result.output)
    if not planned.marks and not found:
        return []
    by, when = (who, at)
    if planned.kind == "gate":
        by, when = _answered(journal, run_id, planned.id) or (who, at)
    facts = [FactRecord(run_id, planned.id, mark, None, when, by) for mark in planned.marks]
    for line in found:
        value: Any = None if line.value is None else redactor.text(line.value)
        stamp = at if line.at is None else line.at
        facts.append(FactRecord(run_id, planned.id, line.name, value, stamp, who))
    for fact in facts:
        journal.record_fact(fact)
        emit(FactRecorded(planned.id, fact.name, fact.value, fact.at, fact.who))
    return facts


def _answered(journal: Journal, run_id: str, step_id: str) -> tuple[str, float] | None:
    """Who answered the gate ``step_id`` last, and when (the run's record of it)."""
    answers = [g for g in journal.gates(run_id) if g.step_id == step_id]
    return (answers[-1].approver, answers[-1].answered_at) if answers else None
