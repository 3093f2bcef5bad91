"""Performance incident: measure the endpoint's latency and errors, mitigate, measure
again, and resolve only when both are back within target."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import opsbooks as ob
from opsbooks_playbooks.actions.incident import comms, probes, steps
from opsbooks_playbooks.actions.incident.params import URL, IncidentParams, check_incident_params
from opsbooks_playbooks.incident import CLASSIFICATION, LEVELS, SEV_PAGED


class PerformanceParams(IncidentParams):
    """The endpoint users find slow, and the targets it must meet again."""

    url: str = ob.Field(pattern=URL, description="The slow endpoint, measured with curl")
    samples: int = ob.Field(20, ge=1, le=1000, description="Timed requests per measurement")
    p95_target_ms: float = ob.Field(
        500.0, gt=0, description="p95 latency target (ms): above it the endpoint is degraded"
    )
    error_target: float = ob.Field(
        1.0, ge=0, le=100, description="Error rate target (% non-2xx/3xx answers)"
    )
    restart_command: str = ob.Field(
        "", description="Command (run in sh) that restarts the service; empty: by hand"
    )


class PerformanceIncident(ob.Runbook):
    """Respond to a performance degradation: the service answers, but too slowly or with
    too many errors.

    The runbook measures the endpoint itself (curl's `time_total` over `samples`
    requests: p50, p95 and the error rate), compares it with the targets, routes paging
    by severity, guides the diagnosis, applies the chosen mitigation, and measures again:
    the mitigation is recorded only when the new measurement is within target.
    """

    incident_level: ClassVar[str] = "L2"

    Params = PerformanceParams

    @classmethod
    def check_params(cls, params: ob.Params, config: Mapping[str, Any]) -> None:
        """Refuse an impact, urgency or severity the incident policy does not know."""
        check_incident_params(cls.name, params, config)

    title = "Performance Incident Response"
    owner = "Platform team"
    scope = (
        "Latency or error-rate degradation of a service that still answers. A service "
        "that does not answer at all is incident.outage."
    )
    prerequisites = [
        "A latency or error-rate alert, or user reports of slowness",
        "The endpoint is reachable with curl from this machine",
        "Dashboards of the service's saturation (CPU, memory, connections, queue depth)",
    ]
    verification = [
        "A new measurement of `samples` requests has p95 and error rate within target",
        "The incident facts are journaled and the review document is written",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="Every sample shows `000` and the error rate is 100%",
            cause="The endpoint does not answer: this is an outage, not slowness.",
            solution="Stop this run and start incident.outage.",
        ),
        ob.Trouble(
            symptom="p95 is high here but users say it is fine",
            cause="The path from this machine is slow (VPN, proxy), not the service.",
            solution="Measure from a host next to the service and compare `time_connect`.",
        ),
        ob.Trouble(
            symptom="The mitigation check fails with `degraded_after` yes",
            cause="The mitigation did not help, or the load grew meanwhile.",
            solution="Choose another mitigation (scale out, shed load) and resume the run.",
        ),
    ]
    recovery = (
        "Scaling out is reverted by scaling back in once the load falls; a rollback by "
        "deploying the release again when fixed. If the run stops, `opsbooks resume` "
        "continues it. " + CLASSIFICATION + " " + LEVELS
    )
    related = [
        "incident.l2",
        "incident.outage",
        "incident.l1",
        "release.rollback",
        "troubleshoot.performance",
    ]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: measured latency incident response", "ops"),
        ob.Change("2026-12-02", "Unknown severity, impact or urgency refused before a run", "ops"),
    ]

    classify = steps.classify_step()
    acknowledge = ob.Gate.confirm(
        "Acknowledge the performance incident {incident_id} ({outputs.severity}) on {service}?",
        title="Acknowledge the incident",
        description=(
            "Check the alert or reports name this endpoint and nobody else owns it; "
            "acknowledging starts the response clock."
        ),
        marks="incident.acknowledged",
    )
    measure = ob.Command(
        probes.latency(),
        title="Measure latency and errors",
        outputs=("p95_ms", "error_rate", "degraded"),
        irreversible=probes.READ_ONLY,
        idempotent=True,
        on_failure="stop",
    )
    route_by_severity = ob.Branch(
        cases=[(SEV_PAGED, "page_responders")],
        default="diagnose",
        title="Page for SEV1 and SEV2",
    )
    page_responders = comms.page_responders()
    diagnose = ob.Manual(
        """
        Measured: p95 {outputs.p95_ms} ms (target {p95_target_ms}), errors
        {outputs.error_rate}% (target {error_target}%), degraded: {outputs.degraded}.
        Find the bottleneck: `opsbooks run troubleshoot.performance`; saturation on the
        dashboards; slow queries (`pg_stat_activity`); a recent release or traffic spike.
        """,
        title="Diagnose the bottleneck",
    )
    mitigation = ob.Gate.choose(
        "Mitigation for {service} (p95 {outputs.p95_ms} ms)?",
        ["restart", "scale out", "shed load", "rollback"],
        title="Choose the mitigation",
        description=(
            "restart: a leak or wedged workers (memory grows, threads stuck). scale out: "
            "saturation under real load. shed load: abusive or batch traffic can be "
            "limited. rollback: the slowness started with a release."
        ),
    )
    restart = ob.Command(
        "sh -c -- {restart_command}",
        title="Restart the service",
        when='answers.mitigation == "restart" and restart_command',
        idempotent=True,
        irreversible="a restart cannot be undone; it is safe to run again",
        on_failure="stop",
    )
    mitigate_by_hand = ob.Manual(
        """
        Apply the mitigation ({answers.mitigation}): add instances, rate-limit the
        offending clients, restart by hand, or `opsbooks run release.rollback ...`.
        """,
        title="Mitigate by hand",
        when='not (answers.mitigation == "restart" and restart_command)',
    )
    remeasure = ob.Command(
        probes.latency(suffix="_after"),
        title="Measure again",
        outputs=("p95_ms_after", "error_rate_after", "degraded_after"),
        irreversible=probes.READ_ONLY,
        idempotent=True,
        on_failure="stop",
    )
    within_target = ob.Verify(
        "test {outputs.degraded_after} = no",
        expect="p95 and error rate are within target again",
        title="Check the targets are met",
        marks="incident.mitigated",
    )
    post_update = ob.Notify(
        comms.update("mitigated: p95 {outputs.p95_ms_after} ms", cadence="the resolution"),
        title="Post an update",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    confirm_resolved = ob.Gate.confirm(
        "p95 {outputs.p95_ms_after} ms, errors {outputs.error_rate_after}%. Is {incident_id} "
        "resolved?",
        title="Confirm the resolution",
        description=(
            "Check the latency dashboard has stayed within target for fifteen minutes at "
            "normal load, not only for this measurement."
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
