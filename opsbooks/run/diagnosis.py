"""Run a ``Diagnosis``: tell the operator the finding, record it, and end the run.

The leaf prints its finding, its resolution and its commands (as ``$ command`` lines,
never run), publishes the facts ``diagnosis``, ``diagnosis.finding`` (and ``escalated``)
as ``::fact`` lines in its result, and returns the reserved route to the run's end:
the runner's walk then skips every later step, on this run and on any resume.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opsbooks.define.diagnosis import DiagnosisSpec, end_route, fact_value, skip_reason
from opsbooks.define.tables import config_table
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.state import StepStatus
from opsbooks.records.events import Event, Notice
from opsbooks.records.journal import Transition
from opsbooks.run.execute import StepEnv
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState


def contact_of(level: str, config: Mapping[str, Any]) -> str:
    """Who to call at ``level``, from ``[tool.opsbooks.contacts]``; "" when not set."""
    contacts = config.get("contacts") or {}
    return str(contacts.get(level) or "") if isinstance(contacts, Mapping) else ""


def contact_advice(levels: Iterable[str], source: str) -> str:
    """What to add so ``levels`` have a contact, in the table the config file spells."""
    lines = " and ".join(f'{level} = "name, phone or pager"' for level in levels)
    return f"add {lines} under {config_table('contacts', source)}"


def escalation_gaps(plan: Plan, config: Mapping[str, Any], source: str) -> str | None:
    """The notice for escalation leaves whose level has no contact (None: all have one).

    The run still starts: such a leaf ends it at the diagnosis and says so.
    """
    gaps: dict[str, list[str]] = {}
    for planned in plan.steps:
        spec = planned.spec
        level = spec.escalate if isinstance(spec, DiagnosisSpec) else ""
        if level and not contact_of(level, config):
            gaps.setdefault(level, []).append(planned.id)
    if not gaps:
        return None
    leaves = "; ".join(f"{level} (from {', '.join(ids)})" for level, ids in gaps.items())
    return (
        f"no contact is configured for the escalation level(s) {leaves}: a run that ends "
        f"there says to escalate but not to whom; {contact_advice(gaps, source)}"
    )


def run_diagnosis(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    """Print the finding, record it as facts, and route to the run's end."""
    spec: DiagnosisSpec = planned.spec
    contact = contact_of(spec.escalate, env.config) if spec.escalate else ""
    if spec.escalate and not contact:
        advice = contact_advice([spec.escalate], env.config_source)
        shown = _lines(spec, f"no contact is configured; {advice}")
    else:
        shown = _lines(spec, contact)
    env.output.write("\n".join(shown) + "\n")
    facts = [
        f"::fact diagnosis={planned.id}",
        f"::fact diagnosis.finding={fact_value(spec.finding)}",
    ]
    if spec.escalate:
        facts.append(f"::fact escalated={spec.escalate}")
    detail: dict[str, Any] = {"diagnosis": planned.id, "finding": spec.finding}
    if spec.escalate:
        detail |= {"escalated": spec.escalate, "contact": contact}
    return StepResult(
        ok=True,
        output="\n".join([*shown, *facts]) + "\n",
        route=end_route(planned.id),
        detail=detail,
    )


def reached(transitions: Iterable[Transition]) -> tuple[str, str] | None:
    """The diagnosis a run ended at, and its finding, from its journal; None if none."""
    found = None
    for transition in transitions:
        leaf = transition.detail.get("diagnosis")
        if transition.status is StepStatus.SUCCEEDED and leaf:
            found = (str(leaf), str(transition.detail.get("finding", "")))
    return found


def announce_end(
    transitions: Iterable[Transition], emit: Callable[[Event], None]
) -> dict[str, Any]:
    """Say which diagnosis a run ended at; the ``RunReport`` fields that record it."""
    leaf = reached(transitions)
    if leaf is None:
        return {}
    emit(Notice(f"the run ended at diagnosis {leaf[0]}: {leaf[1]}", leaf[0]))
    return {"diagnosis": leaf[0], "finding": leaf[1]}


def _lines(spec: DiagnosisSpec, contact: str) -> list[str]:
    lines = [f"diagnosis: {spec.finding}"]
    if spec.resolution:
        lines.append(f"resolution: {spec.resolution}")
    lines.extend(f"$ {command}" for command in spec.commands)
    if spec.escalate:
        lines.append(f"escalate to {spec.escalate}: {contact}")
    return lines


__all__ = [
    "announce_end",
    "contact_advice",
    "contact_of",
    "escalation_gaps",
    "reached",
    "run_diagnosis",
    "skip_reason",
]
