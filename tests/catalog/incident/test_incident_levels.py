"""incident.l1/l2/l3 through the engine against a real HTTP service on 127.0.0.1 and a
recording webhook as the paging service: the timing facts, MTTR, the review document,
escalation L1 -> L2 -> L3 as linked runs carrying the incident, and delivery retries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from incident_kit import Service, access_log, incident, settings

import opsbooks as ob
from opsbooks.testing import Drill, DrillResult
from opsbooks.testing.webhook import RecordingWebhook
from opsbooks_playbooks.actions.incident.timing import Milestones

pytestmark = pytest.mark.slow  # a real HTTP service, curl, a webhook server

L1_RESOLVED = {
    "acknowledge": True,
    "open_bridge": True,
    "known_issues": True,
    "outcome": "mitigated",
    "confirm_resolved": True,
    "schedule_review": True,
}


def _ago(minutes: float) -> str:
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=minutes)
    return moment.isoformat().replace("+00:00", "Z")


def _l1(drill: Drill, service: Service, hook: RecordingWebhook, tmp_path: Path, **extra: object):
    drill.settings = settings(hook.url)
    log = access_log(tmp_path / "access.log", ok=95, errors=5)
    return incident(service, access_log=str(log), **extra)


def test_l1_resolves_a_sev3_and_measures_mttr_from_its_facts(
    drill: Drill, healthy: Service, hook: RecordingWebhook, tmp_path: Path
) -> None:
    params = _l1(drill, healthy, hook, tmp_path, detected_at=_ago(10))
    result = drill.run("incident.l1", params, answers=L1_RESOLVED)

    result.assert_succeeded()
    assert hook.statuses == []  # SEV3: nobody paged, no bridge
    result.assert_skipped("page_responders")
    result.assert_skipped("to_l2")
    assert "::output error_rate=5.00" in result.output
    severity, detected = result.fact("incident.severity"), result.fact("incident.detected")
    assert severity is not None and severity.value == "SEV3"
    assert detected is not None and abs(detected.at - (dt.datetime.now().timestamp() - 600)) < 60
    marks = Milestones.of(result.facts)
    assert marks.acknowledged and marks.mitigated and marks.resolved
    assert marks.mttr is not None and 590 < marks.mttr < 24 * 3600  # met the SEV3 target
    acknowledged = result.fact("incident.acknowledged")
    assert acknowledged is not None and acknowledged.who == "drill"

    review = (drill.root / "incidents" / "INC-2026-042-review.md").read_text()
    assert "# Post-incident review: INC-2026-042" in review
    assert "against the SEV3 target 24h: met" in review
    assert "gate `outcome` answered **mitigated** (answers)" in review
    assert "| drill |" in review  # who answered, on every timeline row
    assert "## Root cause" in review and "## Actions" in review


def test_sev2_pages_and_a_failing_webhook_is_retried_without_losing_the_record(
    drill: Drill, healthy: Service, hook: RecordingWebhook, tmp_path: Path
) -> None:
    params = _l1(drill, healthy, hook, tmp_path, impact="significant", urgency="high")
    hook.fail_first = 2
    result = drill.run("incident.l1", params, answers=L1_RESOLVED)

    result.assert_succeeded()
    assert hook.statuses[:3] == [503, 503, 200]  # retried per comms.DELIVERY, then delivered
    assert len(hook.texts()) == 1 and hook.texts()[0].startswith("[SEV2] INC-2026-042 declared")
    assert "ops on-call, +1 555 0101" in hook.texts()[0]


def test_a_channel_that_stays_down_stops_the_run_with_the_incident_journaled(
    drill: Drill, healthy: Service, hook: RecordingWebhook, tmp_path: Path
) -> None:
    params = _l1(drill, healthy, hook, tmp_path, impact="extensive", urgency="medium")
    hook.status = 503
    stopped = drill.run("incident.l1", params, answers=L1_RESOLVED)

    assert stopped.outcome == "failed" and stopped.steps["page_responders"] == "failed"
    assert len(hook.statuses) == 4 and hook.bodies == []  # every attempt refused
    for name in ("incident.id", "incident.severity", "incident.detected", "incident.acknowledged"):
        assert stopped.fact(name) is not None, name  # journaled before any delivery

    hook.status = 200
    resumed = drill.resume(stopped.run_id, answers=L1_RESOLVED)
    resumed.assert_succeeded()
    assert hook.texts()[0].startswith("[SEV2] INC-2026-042 declared")
    assert len(drill.journal().facts(stopped.run_id)) >= 6  # nothing lost across the resume


def test_escalation_l1_l2_l3_as_linked_runs_carrying_the_incident(
    drill: Drill, service: Service, hook: RecordingWebhook, tmp_path: Path
) -> None:
    service.set("fail")
    params = _l1(drill, service, hook, tmp_path, impact="extensive", urgency="critical")
    l1 = drill.run("incident.l1", params, answers={**L1_RESOLVED, "outcome": "escalate"})
    assert l1.outcome == "stopped" and l1.steps["to_l2"] == "stopped"  # L2 must acknowledge
    escalated = l1.fact("incident.escalated")
    assert escalated is not None and escalated.value == "L2"
    l2_id = _child(drill, l1, "to_l2")

    l2 = drill.resume(
        l2_id,
        answers={
            "acknowledge": True,
            "diagnose": True,
            "mitigation": "restart",
            "restart_by_hand": True,
            "outcome": "escalate",
        },
    )
    assert l2.outcome == "stopped" and l2.steps["settle"] == "failed"  # still HTTP 500
    assert l2.steps["page_responders"] == "skipped"  # L1 already paged for this SEV1
    l3_id = _child(drill, l2, "to_l3")

    service.set("ok")  # the configuration fix
    l3 = drill.resume(
        l3_id,
        answers={
            "acknowledge": True,
            "root_cause": "a feature flag disabled the cache",
            "fix_path": "configuration",
            "configuration": True,
            "confirm_resolved": True,
            "schedule_review": True,
        },
    )
    l3.assert_succeeded()
    drill.resume(l2_id).assert_succeeded(warnings_ok=True)
    done = drill.resume(l1.run_id, answers={"schedule_review": True})
    done.assert_succeeded()

    facts = {run: drill.journal().facts(run) for run in (l1.run_id, l2_id, l3_id)}
    detected = {
        run: next(f.at for f in fs if f.name == "incident.detected") for run, fs in facts.items()
    }
    assert len(set(detected.values())) == 1  # L2 and L3 carry L1's detection time
    for fs in facts.values():
        assert {f.value for f in fs if f.name == "incident.id"} == {"INC-2026-042"}
        assert {f.value for f in fs if f.name == "incident.severity"} == {"SEV1"}
    root = Milestones.of(facts[l1.run_id])  # L1 collected the resolution back
    assert root.resolved is not None and root.mttr is not None and root.mttr < 3600

    pages = hook.texts()
    assert pages[0].startswith("[SEV1] INC-2026-042 declared")
    assert "escalated to L2 (Platform team: platform, +1 555 0102)" in pages[1]
    assert "escalated to L3 (Engineering lead: eng lead)" in pages[2]
    review = (drill.root / "incidents" / "INC-2026-042-review.md").read_text()
    for runbook in ("incident.l1", "incident.l2", "incident.l3"):
        assert runbook in review
    assert "Given at the root-cause gate: a feature flag disabled the cache" in review
    assert "against the SEV1 target 1h: met" in review


def test_still_working_past_the_response_target_escalates_by_itself(
    drill: Drill, service: Service, hook: RecordingWebhook, tmp_path: Path
) -> None:
    service.set("fail")
    late = _l1(drill, service, hook, tmp_path, detected_at=_ago(20))
    result = drill.run("incident.l1", late, answers={**L1_RESOLVED, "outcome": "still working"})
    assert result.steps["to_l2"] == "stopped"
    assert "no mitigation within the response target" in hook.texts()[0]

    early = _l1(drill, service, hook, tmp_path, incident_id="INC-2026-043", detected_at=_ago(1))
    waiting = drill.run("incident.l1", early, answers={**L1_RESOLVED, "outcome": "still working"})
    assert waiting.steps["decide"] == "failed"
    assert "still within the response target" in ((waiting.error and str(waiting.error)) or "")


def test_l2_restart_that_fixes_the_service_is_verified_and_resolves(
    drill: Drill, service: Service, hook: RecordingWebhook, tmp_path: Path
) -> None:
    service.set("fail")
    drill.settings = settings(hook.url)
    params = incident(service, restart_command=f"printf 'ok\\n' > {service.state_file}")
    result = drill.run(
        "incident.l2",
        params,
        answers={
            "acknowledge": True,
            "diagnose": True,
            "mitigation": "restart",
            "outcome": "mitigated",
            "confirm_resolved": True,
        },
    )
    result.assert_succeeded()
    assert "::output health=fail" in result.output and "::output health_after=ok" in result.output
    assert result.fact("incident.mitigated") is not None
    assert result.fact("incident.escalated") is None


def test_bad_input_unknown_severity_missing_contact(
    drill: Drill, service: Service, hook: RecordingWebhook, tmp_path: Path
) -> None:
    service.set("fail")
    params = _l1(drill, service, hook, tmp_path, severity="SEV9")
    with pytest.raises(ob.ParamsError, match="'SEV9' is not a severity; valid: SEV1, SEV2"):
        drill.run("incident.l1", params, answers=L1_RESOLVED)  # before a run exists

    drill.settings = {**settings(hook.url), "contacts": {"L1": "ops"}}
    params = _l1(drill, service, hook, tmp_path, incident_id="INC-2026-044")
    drill.settings = {**drill.settings, "contacts": {"L1": "ops"}}
    missing = drill.run("incident.l1", params, answers={**L1_RESOLVED, "outcome": "escalate"})
    assert missing.steps["decide"] == "failed"
    assert "escalation level L2 has no contact" in str(missing.error)
    assert "[tool.opsbooks.contacts]" in str(missing.error)
    assert hook.statuses == []  # nothing paged for an escalation that could not name anyone


def _child(drill: Drill, parent: DrillResult, step: str) -> str:
    for t in drill.journal().transitions(parent.run_id):
        if t.step_id == step and t.detail.get("child_run"):
            return str(t.detail["child_run"])
    raise AssertionError(f"{step} linked no run")
