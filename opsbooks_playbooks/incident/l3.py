"""Incident response, level 3: engineering finds the root cause, ships the fix, and the
post-incident review is written from the journal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import opsbooks as ob
from opsbooks_playbooks.actions.incident import comms, probes, steps
from opsbooks_playbooks.actions.incident.params import IncidentParams, check_incident_params
from opsbooks_playbooks.incident import CLASSIFICATION, LEVELS


class L3Response(ob.Runbook):
    """Take an escalated incident as the engineering lead: find the root cause, choose the
    fix path (a hotfix through release.hotfix, a rollback, a configuration change), wait
    for the service to recover, confirm the resolution and write the post-incident review.

    L3 is the last level: the incident stays here until it is resolved.
    """

    incident_level: ClassVar[str] = "L3"

    Params = IncidentParams

    @classmethod
    def check_params(cls, params: ob.Params, config: Mapping[str, Any]) -> None:
        """Refuse an impact, urgency or severity the incident policy does not know."""
        check_incident_params(cls.name, params, config)

    title = "Incident Response: Level 3"
    owner = "Engineering"
    scope = (
        "Incidents escalated by L2 that need a code or configuration change by the "
        "engineers who own the service."
    )
    prerequisites = [
        "You are the engineering lead (or their delegate) paged for this incident",
        "You can build and ship a hotfix (release.hotfix) for the service",
        "The health endpoint answers from this machine (curl)",
    ]
    verification = [
        "The health endpoint answers 2xx after the fix (the run waits for it)",
        "The root cause is recorded and the review document is written",
        "The fix's release is tagged and in the feed (release.hotfix verified it)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="The wait for recovery times out",
            cause="The fix is not deployed everywhere, or it does not fix the cause.",
            solution=(
                "Check the deployed version on every host; keep the incident open, fix "
                "forward or roll back, then `opsbooks resume` this run."
            ),
        ),
        ob.Trouble(
            symptom="release.hotfix refuses the version",
            cause="The hotfix version is not a patch of the release in production.",
            solution="Branch from the production tag and bump the patch number only.",
        ),
    ]
    recovery = (
        "A hotfix that makes things worse is rolled back with release.rollback; the "
        "incident stays open. If the run stops, `opsbooks resume` continues it. "
        + CLASSIFICATION
        + " "
        + LEVELS
    )
    related = ["incident.l2", "incident.l1", "release.hotfix", "release.rollback"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: L3 root cause, fix path and review", "ops"),
        ob.Change("2026-12-02", "Unknown severity, impact or urgency refused before a run", "ops"),
    ]

    classify = steps.classify_step()
    acknowledge = ob.Gate.confirm(
        "Acknowledge {incident_id} ({outputs.severity}, {service}) as L3 engineering?",
        title="Acknowledge as L3",
        description=(
            "Read L1's and L2's notes in the incident channel; acknowledging tells the "
            "incident commander engineering owns the fix."
        ),
        marks="incident.acknowledged",
    )
    check_health = probes.health_step()
    root_cause = ob.Gate.ask(
        "Root cause of {incident_id}, in one sentence (health now: {outputs.health})?",
        title="Record the root cause",
        description=(
            "Name the failing change or component and the trigger, from the logs, traces "
            "and the diff of recent changes; 'unknown yet' is an honest answer."
        ),
    )
    fix_path = ob.Gate.choose(
        "How is {incident_id} fixed?",
        ["hotfix", "rollback", "configuration"],
        title="Choose the fix path",
        description=(
            "hotfix: a small code change on the production release (release.hotfix). "
            "rollback: the previous release is good and users can wait for the fix. "
            "configuration: a setting or feature flag, no release."
        ),
    )
    hotfix = ob.Manual(
        """
        Ship the fix with its runbook:
        `opsbooks run release.hotfix --version X.Y.Z --repo REPO ...`
        (a patch release from the production tag, with its own checks and verification).
        """,
        title="Ship the hotfix",
        when='answers.fix_path == "hotfix"',
    )
    rollback = ob.Manual(
        "Roll back with `opsbooks run release.rollback ...` and open a ticket for the fix.",
        title="Roll back the release",
        when='answers.fix_path == "rollback"',
    )
    configuration = ob.Manual(
        "Apply the configuration change through the normal change process "
        "(change.emergency for an emergency change) and note its id in the channel.",
        title="Apply the configuration change",
        when='answers.fix_path == "configuration"',
    )
    wait_for_recovery = ob.WaitUntil(
        probes.healthy(),
        title="Wait for the service to recover",
        poll=ob.Poll(interval=5, timeout=900),
        marks="incident.mitigated",
        on_failure="stop",
    )
    confirm_resolved = ob.Gate.confirm(
        "Is {incident_id} resolved: {service} healthy and users unaffected?",
        title="Confirm the resolution",
        description=(
            "Check the health endpoint and the error rate have stayed normal for ten "
            "minutes, and the fix is deployed on every host."
        ),
        marks="incident.resolved",
    )
    announce_resolved = ob.Notify(
        comms.RESOLVED,
        title="Announce the resolution",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    write_review = steps.review_step()
    schedule_review = ob.Manual(
        """
        Send the review document ({outputs.review}) to every level's responders and
        book the blameless review within five working days.
        """,
        title="Schedule the post-incident review",
    )
