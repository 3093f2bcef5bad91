"""The post-incident review document, rendered from the journal (pure: text in, text out).

It holds what the runs recorded, so nobody rebuilds the timeline from memory: the
incident facts, the MTTR and its target, every step transition and every gate answer
with who and when (the linked runs' too), and the fields the review meeting fills in:
impact, root cause (pre-filled when an engineer gave it at a gate), and actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsbooks_playbooks.actions.incident import timing

if TYPE_CHECKING:
    from opsbooks import IncidentPolicy
    from opsbooks.edges.run_journal import RunJournal
    from opsbooks_playbooks.actions.incident.params import IncidentParams

ROOT_CAUSE_GATE = "root_cause"
_FILL = "_To be completed at the review meeting._"


@dataclass(frozen=True)
class Event:
    """One line of the timeline."""

    at: float
    runbook: str
    what: str
    who: str


def timeline(record: RunJournal) -> list[Event]:
    """Every transition and gate answer of the run and its linked runs, in time order."""
    events: list[Event] = []
    for run in record.walk():
        name = run.run.runbook
        events.append(Event(run.run.started_at, name, f"run {run.run.id} started", run.run.who))
        for t in run.transitions:
            if t.status.value == "pending":
                continue
            why = f" ({_cell(t.reason)})" if t.reason else ""
            events.append(
                Event(t.at, name, f"step `{t.step_id}` {t.status.value}{why}", t.who or run.run.who)
            )
        for g in run.gates:
            answer = _cell(str(g.answer))
            events.append(
                Event(
                    g.answered_at,
                    name,
                    f"gate `{g.step_id}` answered **{answer}** ({g.source}): {_cell(g.prompt)}",
                    g.approver,
                )
            )
        for f in run.facts:
            value = f" = {_cell(str(f.value))}" if f.value not in (None, "") else ""
            events.append(Event(f.at, name, f"fact `{f.name}`{value}", f.who))
    return sorted(events, key=lambda e: e.at)


def render(record: RunJournal, params: IncidentParams, policy: IncidentPolicy, now: float) -> str:
    """The review document as Markdown."""
    facts = [f for run in record.walk() for f in run.facts]
    marks = timing.Milestones.of(facts)
    severity = marks.severity or "unknown"
    lines = [
        f"# Post-incident review: {params.incident_id}",
        "",
        f"- **Service:** {params.service}",
        f"- **Summary:** {params.summary}",
        f"- **Severity:** {severity} (impact {params.impact}, urgency {params.urgency})",
        f"- **Runs:** {', '.join(f'{r.run.runbook} `{r.run.id}`' for r in record.walk())}",
        f"- **Written:** {timing.iso(now)} by run `{record.run.id}`",
        "",
        "## Response times",
        "",
        *_times(marks, policy, severity, now),
        "",
        "## Incident facts",
        "",
        "| Fact | Value | At (UTC) | Who | Run |",
        "| --- | --- | --- | --- | --- |",
        *(
            _fact_row(f.name, f.value, f.at, f.who, f.run_id)
            for f in sorted(facts, key=lambda f: f.at)
        ),
        "",
        "## Timeline",
        "",
        "| At (UTC) | Runbook | Event | Who |",
        "| --- | --- | --- | --- |",
        *(f"| {timing.iso(e.at)} | {e.runbook} | {e.what} | {e.who} |" for e in timeline(record)),
        "",
        *_fields(record),
    ]
    return "\n".join(lines) + "\n"


def _times(
    marks: timing.Milestones, policy: IncidentPolicy, severity: str, now: float
) -> list[str]:
    rows = [
        ("Detected", marks.detected, None),
        ("Acknowledged", marks.acknowledged, marks.since_detected(marks.acknowledged)),
        ("Mitigated", marks.mitigated, marks.since_detected(marks.mitigated)),
        ("Resolved", marks.resolved, marks.since_detected(marks.resolved)),
    ]
    out = ["| Milestone | At (UTC) | Since detection |", "| --- | --- | --- |"]
    for label, at, since in rows:
        when = timing.iso(at) if at is not None else "not recorded"
        out.append(f"| {label} | {when} | {timing.span(since) if since is not None else ''} |")
    out.append("")
    if severity in policy.mttr:
        target = policy.mttr_seconds(severity)
        mttr = marks.mttr
        if mttr is None:
            open_for = marks.since_detected(now)
            spent = timing.span(open_for) if open_for is not None else "unknown"
            out.append(
                f"**MTTR:** not resolved yet ({spent} open); target {policy.mttr[severity]}."
            )
        else:
            verdict = "met" if mttr <= target else "MISSED"
            out.append(
                f"**MTTR:** {timing.span(mttr)} against the {severity} target "
                f"{policy.mttr[severity]}: {verdict}."
            )
    return out


def _fields(record: RunJournal) -> list[str]:
    cause = next(
        (
            str(g.answer)
            for run in record.walk()
            for g in run.gates
            if g.step_id == ROOT_CAUSE_GATE and g.answer
        ),
        "",
    )
    return [
        "## Impact",
        "",
        "Users and customers affected, for how long, which SLOs were breached, and any "
        "data or revenue lost.",
        "",
        _FILL,
        "",
        "## Root cause",
        "",
        (f"Given at the root-cause gate: {cause}" if cause else _FILL),
        "",
        "Five whys, contributing factors, and why detection took as long as it did.",
        "",
        "## What went well, what did not",
        "",
        _FILL,
        "",
        "## Actions",
        "",
        "| Action | Owner | Due | Ticket |",
        "| --- | --- | --- | --- |",
        "| | | | |",
        "",
        "## Review procedure",
        "",
        "1. Hold the review within five working days, blameless: systems and decisions, "
        "not people.",
        "2. Invite the responders of every level above, the service owner and support.",
        "3. Walk the timeline; correct it here where the record is incomplete.",
        "4. Agree the root cause and one owner and due date per action; file the tickets.",
        "5. Update the runbooks that were missing a step, and the known-issue pointers.",
    ]


def _fact_row(name: str, value: Any, at: float, who: str, run_id: str) -> str:
    shown = _cell(str(value)) if value not in (None, "") else ""
    return f"| `{name}` | {shown} | {timing.iso(at)} | {who} | `{run_id}` |"


def _cell(text: Any) -> str:
    """Text safe in a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")
