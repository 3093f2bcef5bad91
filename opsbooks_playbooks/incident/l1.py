"""Incident response, level 1: acknowledge, classify, check the service, mitigate or escalate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import opsbooks as ob
from opsbooks_playbooks.actions.incident import comms, probes, steps
from opsbooks_playbooks.actions.incident.params import (
    IncidentParams,
    carried,
    check_incident_params,
)
from opsbooks_playbooks.incident import CLASSIFICATION, LEVELS, SEV_PAGED
from opsbooks_playbooks.incident.l2 import L2Response

_ESCALATING = 'outputs.escalate == "yes"'
_KEPT = 'outputs.escalate != "yes"'


class L1Params(IncidentParams):
    """The incident record, plus where L1 reads the service's recent errors."""

    severity: str = ob.Field(
        "",
        pattern=r"^$|^SEV[0-9]$",
        description="Declared severity (SEV1..SEV4), overriding the impact x urgency matrix",
    )
    access_log: ob.NoOption = ob.Field(
        "/var/log/nginx/access.log",
        description="The service's access log (combined format) for the recent error rate",
    )
    window: int = ob.Field(1000, ge=1, description="Access log lines the error rate covers")


class L1Response(ob.Runbook):
    """Take a new incident as the L1 on-call: acknowledge it, classify it, check the service,
    apply a known fix, and escalate to L2 when a trigger says so.

    Use it for every alert or user report of a broken service that is not a security
    incident (use security.incident_response for those). The run records when the
    incident was detected, acknowledged, mitigated and resolved, and who said so, so MTTR
    is measured from the journal; the post-incident review document is written from it.
    """

    incident_level: ClassVar[str] = "L1"
    escalate_at_once: ClassVar[tuple[str, ...]] = ("SEV1",)
    outcome_gate: ClassVar[str] = "outcome"

    Params = L1Params

    @classmethod
    def check_params(cls, params: ob.Params, config: Mapping[str, Any]) -> None:
        """Refuse an impact, urgency or severity the incident policy does not know."""
        check_incident_params(cls.name, params, config)

    title = "Incident Response: Level 1"
    owner = "Ops on-call"
    scope = (
        "Any production service incident reported by an alert or a user: errors, "
        "unavailability, slowness. Not security incidents (security.incident_response) "
        "and not planned maintenance."
    )
    prerequisites = [
        "You are the L1 on-call and can reach the incident channel",
        "The service's health endpoint answers from this machine (curl)",
        "Read access to the service's access log",
        "[tool.opsbooks.contacts] names L2 (and L3); a `page` notify channel pages them",
    ]
    verification = [
        "The health endpoint answers 2xx and the error rate is back to normal",
        "The incident's facts (detected, acknowledged, mitigated, resolved) are journaled",
        "The post-incident review document is written under output_dir",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`curl: (7) Failed to connect` in the health check",
            cause="The service is down, or a firewall blocks this machine.",
            solution=(
                "Check the listener on the host (`ss -ltnp`) and name resolution "
                "(`getent hosts HOST`); if the service is down, escalate: this is an outage "
                "(incident.outage)."
            ),
        ),
        ob.Trouble(
            symptom="`cannot read the access log` and the error-rate step fails",
            cause="The log path is wrong or you lack read permission.",
            solution="Give the right `--access-log`, or run as a user in the `adm` group.",
        ),
        ob.Trouble(
            symptom="`escalation level L2 has no contact`",
            cause="[tool.opsbooks.contacts] does not name L2.",
            solution='Add `L2 = "platform on-call, +1 555 0100"` to it and resume the run.',
        ),
        ob.Trouble(
            symptom="The escalation page fails after its retries",
            cause="The paging webhook is down or refuses the request.",
            solution=(
                "The escalation is already journaled (fact incident.escalated). Call the L2 "
                "contact by phone, then `opsbooks resume` the run to deliver the page."
            ),
        ),
        ob.Trouble(
            symptom="`still within the response target` at the escalation decision",
            cause="You answered `still working` before the L1 response target passed.",
            solution="Keep working; resume the run and answer again when mitigated or later.",
        ),
    ]
    recovery = (
        "The run changes nothing on the service itself: mitigations are applied by people "
        "following the known-issue runbooks. If it stops, `opsbooks resume` continues it "
        "with every answer and fact kept. " + CLASSIFICATION + " " + LEVELS
    )
    related = [
        "incident.l2",
        "incident.l3",
        "incident.outage",
        "incident.performance",
        "security.incident_response",
        "troubleshoot.connectivity",
        "troubleshoot.performance",
        "troubleshoot.authentication",
        "troubleshoot.database",
    ]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: L1 triage with escalation to L2", "ops"),
        ob.Change("2026-12-02", "Unknown severity, impact or urgency refused before a run", "ops"),
    ]

    classify = steps.classify_step()
    acknowledge = ob.Gate.confirm(
        "Acknowledge {incident_id} ({outputs.severity}, {service}): you own it as L1 on-call?",
        title="Acknowledge the incident",
        description=(
            "Check the alert or report is real and not already handled by someone else "
            "(incident channel); acknowledging starts the response clock."
        ),
        marks="incident.acknowledged",
    )
    route_by_severity = ob.Branch(
        cases=[(SEV_PAGED, "page_responders")],
        default="check_health",
        title="Page and open a bridge for SEV1 and SEV2",
    )
    page_responders = comms.page_responders()
    open_bridge = ob.Manual(
        """
        Open the incident bridge (call and channel) for {incident_id} and post its link
        in the incident channel. Name an incident commander; from now on every action is
        written in the channel with its time (UTC).
        """,
        title="Open the incident bridge",
        when=SEV_PAGED,
    )
    check_health = probes.health_step()
    error_rate = ob.Command(
        probes.error_rate(),
        title="Measure the recent error rate",
        outputs=("error_rate",),
        irreversible=probes.READ_ONLY,
        idempotent=True,
        on_failure="stop",
    )
    known_issues = ob.Manual(
        """
        Health: {outputs.health} (HTTP {outputs.http_code}); 5xx rate over the last
        {window} requests: {outputs.error_rate}%. Match the symptoms to a known issue and
        apply its fix:

        - connection refused or timeouts: troubleshoot.connectivity
        - slow answers, high p95: troubleshoot.performance (or incident.performance)
        - 401/403 for valid users: troubleshoot.authentication
        - database errors in the log: troubleshoot.database
        - a release went out just before: release.rollback (with L2)

        Write what you tried in the incident channel.
        """,
        title="Check the known issues",
    )
    outcome = ob.Gate.choose(
        "Is {service} mitigated, are you still working on it, or does it need L2?",
        ["mitigated", "still working", "escalate"],
        title="Mitigated, still working, or escalate",
        description=(
            "mitigated: a fix is applied and users are no longer affected (checked next). "
            "still working: you need more time; past the L1 response target it escalates. "
            "escalate: you cannot fix it at L1 (unknown cause, needs a rollback or a "
            "failover, or more than one service is affected)."
        ),
    )
    recheck = ob.Command(
        probes.health(suffix="_after"),
        title="Check the health endpoint again",
        outputs=("health_after", "http_code_after"),
        irreversible=probes.READ_ONLY,
        idempotent=True,
        on_failure="stop",
    )
    decide = steps.decide_step()
    route_escalation = ob.Branch(
        cases=[(_ESCALATING, "page_next_level")],
        default="confirm_resolved",
        title="Escalate, or resolve at L1",
    )
    page_next_level = ob.Notify(
        comms.ESCALATION,
        channel="page",
        title="Page the next level",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    to_l2 = ob.SubRun(L2Response, params=carried(), title="Hand the incident to L2")
    collect = steps.collect_step(_ESCALATING)
    confirm_resolved = ob.Gate.confirm(
        "Is {incident_id} resolved: {service} healthy and users unaffected?",
        title="Confirm the resolution",
        description=(
            "Check the health endpoint and the error rate are back to their usual values "
            "for at least ten minutes, and that the users who reported it confirm."
        ),
        when=_KEPT,
        marks="incident.resolved",
    )
    announce_resolved = ob.Notify(
        comms.RESOLVED,
        title="Announce the resolution",
        when=_KEPT,
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    write_review = steps.review_step()
    schedule_review = ob.Manual(
        """
        Send the review document ({outputs.review}) to the responders and book the
        blameless post-incident review within five working days ({outputs.severity}).
        """,
        title="Schedule the post-incident review",
    )
