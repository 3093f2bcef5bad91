"""Incident response, level 2: diagnose, choose a mitigation, verify it, or escalate to L3."""

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
from opsbooks_playbooks.incident.l3 import L3Response

_ESCALATING = 'outputs.escalate == "yes"'
_KEPT = 'outputs.escalate != "yes"'
_DIRECT = 'outputs.escalated_from == "none" and ' + SEV_PAGED


class L2Params(IncidentParams):
    """The incident record, plus how the service is restarted here."""

    restart_command: str = ob.Field(
        "",
        description="Command (run in sh) that restarts the service, e.g. "
        "`systemctl restart api`; empty: restart by hand",
    )


class L2Response(ob.Runbook):
    """Work an incident as the L2 platform engineer: diagnose it with the troubleshooting
    runbooks, choose a mitigation (rollback, restart, failover), verify it against the
    health endpoint, and escalate to L3 engineering when it does not hold.

    Started by incident.l1 as a linked run (it then carries L1's incident record and
    detection time) or directly for an incident that starts at L2.
    """

    incident_level: ClassVar[str] = "L2"
    escalate_at_once: ClassVar[tuple[str, ...]] = ()
    outcome_gate: ClassVar[str] = "outcome"

    Params = L2Params

    @classmethod
    def check_params(cls, params: ob.Params, config: Mapping[str, Any]) -> None:
        """Refuse an impact, urgency or severity the incident policy does not know."""
        check_incident_params(cls.name, params, config)

    title = "Incident Response: Level 2"
    owner = "Platform team"
    scope = (
        "Production incidents L1 could not mitigate, or that need a rollback, a restart or "
        "a failover. Not security incidents (security.incident_response)."
    )
    prerequisites = [
        "You are the L2 platform on-call, paged for this incident",
        "Access to the service's hosts, deploy tooling and the release feed",
        "The health endpoint answers from this machine (curl)",
    ]
    verification = [
        "The health endpoint answers 2xx after the mitigation (checked by the run)",
        "The incident is resolved, or handed to L3 with the reason recorded",
        "The post-incident review document is written under output_dir",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="The restart step fails with `sh: 1: systemctl: not found`",
            cause="The restart command is for another init system or another host.",
            solution="Give the right `--restart-command`, or restart by hand and answer on.",
        ),
        ob.Trouble(
            symptom="`the service is still unhealthy after mitigation` and L3 is paged",
            cause="The mitigation did not hold; the health check saw a non-2xx answer.",
            solution="Expected: L3 takes over. Keep the mitigation notes in the channel.",
        ),
        ob.Trouble(
            symptom="`escalation level L3 has no contact`",
            cause="[tool.opsbooks.contacts] does not name L3.",
            solution='Add `L3 = "engineering lead, +1 555 0199"` and resume the run.',
        ),
    ]
    recovery = (
        "Each mitigation has its own recovery: a rollback is undone by deploying the "
        "release again (release.deploy); a failover by failing back once the primary is "
        "healthy. If the run stops, `opsbooks resume` continues it. "
        + CLASSIFICATION
        + " "
        + LEVELS
    )
    related = [
        "incident.l1",
        "incident.l3",
        "release.rollback",
        "incident.performance",
        "troubleshoot.performance",
        "troubleshoot.connectivity",
        "troubleshoot.authentication",
        "troubleshoot.database",
        "troubleshoot.mcp",
    ]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: L2 diagnosis, mitigation and escalation", "ops"),
        ob.Change("2026-12-02", "Unknown severity, impact or urgency refused before a run", "ops"),
    ]

    classify = steps.classify_step()
    acknowledge = ob.Gate.confirm(
        "Acknowledge {incident_id} ({outputs.severity}, {service}) as L2?",
        title="Acknowledge as L2",
        description=(
            "Read the incident channel and what L1 tried; acknowledging tells L1 and the "
            "incident commander that L2 owns the technical response now."
        ),
        marks="incident.acknowledged",
    )
    route_by_severity = ob.Branch(
        cases=[(_DIRECT, "page_responders")],
        default="check_health",
        title="Page for SEV1 and SEV2 that start at L2",
    )
    page_responders = comms.page_responders()
    check_health = probes.health_step()
    diagnose = ob.Manual(
        """
        Health: {outputs.health} (HTTP {outputs.http_code}). Find the failing part with
        the troubleshooting runbooks and write the finding in the incident channel:

        - `opsbooks run troubleshoot.connectivity` (DNS, TLS, listeners, routes)
        - `opsbooks run troubleshoot.performance` (latency, saturation)
        - `opsbooks run troubleshoot.database` (connections, locks, replication)
        - `opsbooks run troubleshoot.authentication` (tokens, clocks, keys)
        - recent changes: `git log --since=2.hours` of the service, the deploy history
        """,
        title="Diagnose",
    )
    mitigation = ob.Gate.choose(
        "Mitigation for {incident_id}?",
        ["rollback", "restart", "failover", "none"],
        title="Choose the mitigation",
        description=(
            "rollback: a release in the last hours correlates with the errors. restart: "
            "the process is wedged (memory, deadlock) and a restart is safe. failover: the "
            "primary site or database is impaired and the standby is healthy. none: no "
            "safe mitigation (escalate at the next gate)."
        ),
    )
    rollback = ob.Manual(
        """
        Roll the release back with its runbook:
        `opsbooks run release.rollback --repo REPO --feed-dir FEED --base-url URL`.
        Confirm the previous release is live before answering.
        """,
        title="Roll back the release",
        when='answers.mitigation == "rollback"',
    )
    restart = ob.Command(
        "sh -c -- {restart_command}",
        title="Restart the service",
        when='answers.mitigation == "restart" and restart_command',
        irreversible="a restart cannot be undone; it is safe to run again",
        idempotent=True,
        on_failure="stop",
    )
    restart_by_hand = ob.Manual(
        "Restart {service} on its hosts (e.g. `systemctl restart {service}`) and watch "
        "it come up (`journalctl -u {service} -f`).",
        title="Restart the service by hand",
        when='answers.mitigation == "restart" and not restart_command',
    )
    failover = ob.Manual(
        """
        Fail over to the standby: promote it, move the traffic (DNS or load balancer),
        and check the standby's health endpoint answers before answering.
        """,
        title="Fail over to the standby",
        when='answers.mitigation == "failover"',
    )
    settle = ob.WaitUntil(
        probes.healthy(),
        title="Wait for the service to answer",
        poll=ob.Poll(interval=5, timeout=120),
        when='answers.mitigation != "none"',
        on_failure="continue",
    )
    recheck = ob.Command(
        probes.health(suffix="_after"),
        title="Check the health endpoint after the mitigation",
        outputs=("health_after", "http_code_after"),
        irreversible=probes.READ_ONLY,
        idempotent=True,
        on_failure="stop",
    )
    outcome = ob.Gate.choose(
        "Health after the mitigation: {outputs.health_after} (HTTP "
        "{outputs.http_code_after}). Mitigated, or escalate to L3?",
        ["mitigated", "still working", "escalate"],
        title="Mitigated, still working, or escalate",
        description=(
            "mitigated: users are no longer affected. still working: you need more time "
            "(past the L2 response target it escalates). escalate: it needs a code fix or "
            "the engineers who wrote the service."
        ),
    )
    decide = steps.decide_step()
    route_escalation = ob.Branch(
        cases=[(_ESCALATING, "page_next_level")],
        default="confirm_resolved",
        title="Escalate, or resolve at L2",
    )
    page_next_level = ob.Notify(
        comms.ESCALATION,
        channel="page",
        title="Page L3",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    to_l3 = ob.SubRun(L3Response, params=carried(), title="Hand the incident to L3")
    collect = steps.collect_step(_ESCALATING)
    confirm_resolved = ob.Gate.confirm(
        "Is {incident_id} resolved: {service} healthy and users unaffected?",
        title="Confirm the resolution",
        description=(
            "Check the health endpoint and error rate have stayed normal for ten minutes "
            "and support has no new reports."
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
