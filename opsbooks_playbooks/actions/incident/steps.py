"""The Python steps every incident runbook shares: classify the incident, decide whether
to escalate, collect what a linked run established, write the post-incident review.

A runbook uses them as class attributes (``classify = steps.classify_step()``) and names
its support level in ``incident_level`` (``"L1"``). Each step prints its decision as
``::output`` lines and the incident record as ``::fact`` lines: the facts are journaled
when the step succeeds, before any notification that announces them is attempted.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import opsbooks as ob
from opsbooks.edges.run_journal import RunJournal, parent_run, read_run
from opsbooks_playbooks.actions.incident import review, timing
from opsbooks_playbooks.actions.incident.params import IncidentParams

_NOT_SET = "(not configured)"


def _lines(outputs: Mapping[str, object], facts: list[str]) -> str:
    shown = [f"::output {k}={v}" for k, v in outputs.items()]
    return "\n".join([*shown, *(f"::fact {f}" for f in facts)])


def _params(ctx: ob.StepContext) -> IncidentParams:
    params = ctx.params
    assert isinstance(params, IncidentParams)
    return params


def _level(runbook: Any) -> str:
    return str(getattr(type(runbook), "incident_level", "L1"))


def _detected(ctx: ob.StepContext, params: IncidentParams) -> tuple[float, str]:
    """When the incident began, and where that time comes from."""
    if params.detected_at:
        return timing.epoch(params.detected_at), "the detected_at parameter"
    parent = parent_run(ctx)
    if parent is not None:
        found = read_run(ctx, parent, linked=False)
        fact = found.fact(timing.DETECTED)
        if fact is not None:
            return fact.at, f"run {parent} of {found.run.runbook}, which escalated here"
    return read_run(ctx, linked=False).run.started_at, "the start of this run"


def classify(runbook: Any, ctx: ob.StepContext) -> str:
    """Classify the incident by the policy's impact x urgency matrix and record it."""
    params = _params(ctx)
    policy = ob.IncidentPolicy.from_config(ctx.config)
    override = str(getattr(params, "severity", "") or "")
    if override:
        policy.mttr_seconds(override)  # an unknown severity says which are valid
    severity = override or policy.classify(params.impact, params.urgency)
    level_name = _level(runbook)
    level = policy.level(level_name)
    contacts = ctx.config.get("contacts") or {}
    detected, source = _detected(ctx, params)
    parent = parent_run(ctx)
    print(
        f"{params.incident_id}: impact {params.impact} x urgency {params.urgency} -> "
        f"{severity}{' (set by the severity parameter)' if override else ''}; MTTR target "
        f"{policy.mttr[severity]}; detected {timing.iso(detected)} (from {source}); "
        f"handled by {level_name} {level.title}, response target {level.response}"
    )
    outputs = {
        "severity": severity,
        "mttr_target": policy.mttr[severity],
        "detected": timing.iso(detected),
        "level_title": level.title,
        "contact": contacts.get(level.contact) or _NOT_SET,
        "response_target": level.response,
        "escalated_from": "none" if parent is None else parent,
    }
    facts = [
        f"{timing.INCIDENT_ID}={params.incident_id}",
        f"{timing.SEVERITY}={severity}",
        f"{timing.DETECTED} @{timing.iso(detected)}",
    ]
    return _lines(outputs, facts)


def decide(runbook: Any, ctx: ob.StepContext) -> str:
    """Escalate to the next level when a trigger holds; else record the mitigation."""
    params = _params(ctx)
    policy = ob.IncidentPolicy.from_config(ctx.config)
    level_name = _level(runbook)
    level = policy.level(level_name)
    detected, _ = _detected(ctx, params)
    elapsed = time.time() - detected
    triggers = _triggers(runbook, ctx, elapsed, level.response_seconds)
    nxt = policy.next_level(level_name)
    if not triggers or nxt is None:
        if triggers:
            print(f"{level_name} is the last level; it keeps the incident: {'; '.join(triggers)}")
        print(f"mitigated at {level_name} after {timing.span(elapsed)} (target {level.response})")
        return _lines(_no_escalation(), [timing.MITIGATED])
    target = policy.level(nxt)
    contact = policy.contact(nxt, ctx.config)  # a level with no contact: a clear error
    channels = ctx.config.get("notify") or {}
    if target.channel not in channels:
        raise ob.ConfigError(
            f"escalation level {nxt} pages through the notify channel {target.channel!r}, "
            f"which is not configured; add [tool.opsbooks.notify.{target.channel}] "
            f"(known: {', '.join(sorted(channels)) or 'none'})"
        )
    reason = "; ".join(triggers)
    print(f"escalating {params.incident_id} from {level_name} to {nxt} ({contact}): {reason}")
    outputs = {
        "escalate": "yes",
        "next_level": nxt,
        "next_title": target.title,
        "next_contact": contact,
        "next_response": target.response,
        "escalation_reason": reason,
    }
    return _lines(outputs, [f"{timing.ESCALATED}={nxt}"])


def _no_escalation() -> dict[str, str]:
    keys = ("next_level", "next_title", "next_contact", "next_response", "escalation_reason")
    return {"escalate": "no", **dict.fromkeys(keys, "none")}


def _triggers(runbook: Any, ctx: ob.StepContext, elapsed: float, response: float) -> list[str]:
    """Why the incident goes up a level: severity, judgement, health, or the clock."""
    found: list[str] = []
    severity = str(ctx.outputs.get("severity", ""))
    if severity in getattr(type(runbook), "escalate_at_once", ()):
        found.append(f"{severity} engages the next level at once")
    outcome = str(ctx.answers.get(getattr(type(runbook), "outcome_gate", "outcome"), ""))
    if outcome == "escalate":
        found.append("the responder judged it needs the next level")
    if outcome == "mitigated" and ctx.outputs.get("health_after") != "ok":
        code = ctx.outputs.get("http_code_after", "?")
        found.append(f"the service is still unhealthy after mitigation (HTTP {code})")
    if outcome == "still working":
        if elapsed <= response:
            raise RuntimeError(
                f"still within the response target ({timing.span(elapsed)} of "
                f"{timing.span(response)}): keep working, then resume this run and answer "
                f"again; it escalates by itself once the target has passed"
            )
        found.append(
            f"no mitigation within the response target ({timing.span(elapsed)} elapsed, "
            f"target {timing.span(response)})"
        )
    return found


def collect(runbook: Any, ctx: ob.StepContext) -> str:
    """Copy the milestones the linked run established into this run, at their times."""
    mine = read_run(ctx)
    wanted = (timing.MITIGATED, timing.RESOLVED, timing.ESCALATED)
    lines: list[str] = []
    for child in mine.children:
        for run in child.walk():
            for fact in run.facts:
                if fact.name in wanted:
                    value = f"={fact.value}" if fact.value not in (None, "") else ""
                    lines.append(f"{fact.name}{value} @{timing.iso(fact.at)}")
    if not any(line.startswith(timing.RESOLVED) for line in lines):
        raise RuntimeError(
            "the linked run recorded no resolution; resume it until the incident is resolved"
        )
    print(f"{len(lines)} milestone(s) carried back from the linked run(s)")
    return _lines({}, list(dict.fromkeys(lines)))


def write_review(runbook: Any, ctx: ob.StepContext) -> str:
    """Write the post-incident review document from the journal of this run and its links."""
    params = _params(ctx)
    record: RunJournal = read_run(ctx)
    policy = ob.IncidentPolicy.from_config(ctx.config)
    text = review.render(record, params, policy, now=time.time())
    folder = Path(params.output_dir)
    folder = folder if folder.is_absolute() else ctx.workdir / folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{params.incident_id}-review.md"
    path.write_text(text, encoding="utf-8")
    print(f"post-incident review written to {path}")
    return _lines({"review": str(path)}, [])


def _python(
    function: Callable[[Any, ob.StepContext], str],
    outputs: tuple[str, ...],
    **keywords: Any,
) -> ob.PythonStep:
    made = ob.step(**keywords)(function)
    return dataclasses.replace(made, outputs=outputs)


def classify_step() -> ob.PythonStep:
    return _python(
        classify,
        (
            "severity",
            "mttr_target",
            "detected",
            "level_title",
            "contact",
            "response_target",
            "escalated_from",
        ),
        title="Classify the incident",
        idempotent=True,
        on_failure="stop",
        irreversible="records the incident's classification; a record is never unwritten",
    )


def decide_step(when: str | None = None) -> ob.PythonStep:
    return _python(
        decide,
        (
            "escalate",
            "next_level",
            "next_title",
            "next_contact",
            "next_response",
            "escalation_reason",
        ),
        title="Decide on escalation",
        when=when,
        idempotent=True,
        on_failure="stop",
        irreversible="records the escalation decision; a record is never unwritten",
    )


def collect_step(when: str) -> ob.PythonStep:
    return _python(
        collect,
        (),
        title="Carry back the linked run's milestones",
        when=when,
        idempotent=True,
        on_failure="stop",
        irreversible="copies journal facts; a record is never unwritten",
    )


def review_step() -> ob.PythonStep:
    return _python(
        write_review,
        ("review",),
        title="Write the post-incident review",
        idempotent=True,
        on_failure="stop",
        irreversible="writes a new document; a draft is kept, never deleted, for the review",
    )
