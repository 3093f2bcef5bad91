"""Complete service outage: confirm it, page, keep users informed on a cadence, check the
dependencies, recover, verify the recovery, and write the review."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import field_validator

import opsbooks as ob
from opsbooks_playbooks.actions.incident import comms, probes, steps
from opsbooks_playbooks.actions.incident.params import URL, IncidentParams, check_incident_params
from opsbooks_playbooks.incident import CLASSIFICATION, LEVELS

_DEPENDENCIES = (
    "failed=; for url in {dependency_urls}; do "
    "code=$(curl -sS -o /dev/null --connect-timeout 3 --max-time 10 "
    "-w '%{{http_code}}' -- \"$url\") || true; code=${code:-000}; "
    'echo "dependency $url: HTTP $code"; '
    'case $code in 2*|3*) ;; *) failed="$failed $url" ;; esac; done; '
    'echo "::output failed_dependencies=${failed:- none}"'
)
_REQUESTS = (
    "ok=0; i=0; while [ $i -lt {verify_requests} ]; do "
    "if curl -fsS -o /dev/null --connect-timeout 3 --max-time 10 -- {health_url}; "
    "then ok=$((ok + 1)); fi; i=$((i + 1)); done; "
    "echo $ok of {verify_requests} health checks answered 2xx; "
    "test $ok -eq {verify_requests}"
)


class OutageParams(IncidentParams):
    """An outage: everything users reach is down, so impact and urgency default to the top."""

    impact: str = ob.Field("extensive", pattern=r"^[a-z][a-z0-9_-]*$", description="Impact")
    urgency: str = ob.Field("critical", pattern=r"^[a-z][a-z0-9_-]*$", description="Urgency")
    dependency_urls: list[ob.NoOption] = ob.Field(
        default_factory=list,
        description="Health URLs of the service's dependencies (database proxy, auth, "
        "payment provider), each checked with curl",
    )
    update_every: int = ob.Field(
        30, ge=5, le=120, description="Minutes between status updates while the outage lasts"
    )
    restart_command: str = ob.Field(
        "", description="Command (run in sh) that restarts the service; empty: by hand"
    )
    verify_requests: int = ob.Field(
        20, ge=1, le=1000, description="Consecutive health checks that must all answer 2xx"
    )

    @field_validator("dependency_urls")
    @classmethod
    def _urls(cls, urls: list[ob.NoOption]) -> list[ob.NoOption]:
        bad = [u for u in urls if not re.match(URL, u)]
        if bad:
            raise ValueError(
                f"not http(s) URLs: {', '.join(bad)}; give e.g. http://db-proxy:8080/health"
            )
        return urls


class Outage(ob.Runbook):
    """Respond to a complete outage of a service: nobody can use it.

    Confirms the outage with the health endpoint, pages everyone (an outage is SEV1 by
    the matrix), posts the status page text and an update every `update_every` minutes,
    checks each dependency, recovers (restart, failover, rollback), and verifies the
    recovery with consecutive health checks before anyone says it is over.
    """

    incident_level: ClassVar[str] = "L2"

    Params = OutageParams

    @classmethod
    def check_params(cls, params: ob.Params, config: Mapping[str, Any]) -> None:
        """Refuse an impact, urgency or severity the incident policy does not know."""
        check_incident_params(cls.name, params, config)

    title = "Outage Response"
    owner = "Platform team"
    scope = (
        "A service that is completely unavailable to its users. Partial degradation is "
        "incident.performance or incident.l1; security incidents are "
        "security.incident_response."
    )
    prerequisites = [
        "An alert or several users report the service unreachable",
        "The `page` notify channel pages the on-call levels; `default` reaches the "
        "incident channel and the status page editor",
        "You can restart or fail over the service",
    ]
    verification = [
        "verify_requests consecutive health checks answered 2xx (checked by the run)",
        "Every dependency answers its health URL",
        "The status page says resolved and the review document is written",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="The outage confirmation says the health endpoint answers 2xx",
            cause="The outage is partial, regional, or on the path from users (DNS, CDN).",
            solution=(
                "Check from outside (`curl` from another region, `dig +trace`); if the "
                "service is healthy here, answer the outage gate no and use incident.l1."
            ),
        ),
        ob.Trouble(
            symptom="A dependency answers `HTTP 000`",
            cause="It is down, or unreachable from here (firewall, DNS).",
            solution=(
                "`getent hosts HOST` and `ss -tn dst HOST`; page that dependency's owner and "
                "fail over to its standby if it has one."
            ),
        ),
        ob.Trouble(
            symptom="The recovery verification fails with `N of M health checks answered 2xx`",
            cause="The service flaps: it is up but crashes or times out under load.",
            solution=(
                "Do not declare recovery. Check the service log for crashes "
                "(`journalctl -u SERVICE`), shed load, and resume the run."
            ),
        ),
    ]
    recovery = (
        "A restart or failover that makes things worse is reverted by failing back or by "
        "release.rollback; the outage stays open until the verification passes. If the "
        "run stops, `opsbooks resume` continues it. " + CLASSIFICATION + " " + LEVELS
    )
    related = [
        "incident.l1",
        "incident.l2",
        "incident.l3",
        "release.rollback",
        "troubleshoot.connectivity",
        "dr.disaster_recovery",
    ]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: outage response with comms cadence", "ops"),
        ob.Change("2026-12-02", "Unknown severity, impact or urgency refused before a run", "ops"),
    ]

    classify = steps.classify_step()
    confirm_down = probes.health_step("Confirm the outage")
    declare = ob.Gate.confirm(
        "Health check: {outputs.health} (HTTP {outputs.http_code}). Declare an outage of "
        "{service} and take command?",
        title="Declare the outage",
        description=(
            "Check the health result above and the alert: users cannot use the service "
            "at all (not slow, not one feature). Declaring acknowledges the incident."
        ),
        marks="incident.acknowledged",
    )
    page_everyone = comms.page_responders()
    status_page = ob.Notify(
        comms.status_investigating(),
        title="Post the status page notice",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    open_bridge = ob.Manual(
        """
        Open the incident bridge and name: the incident commander, the communications
        lead (posts an update every {update_every} minutes until resolved, even when
        nothing changed), and the technical lead.
        """,
        title="Open the bridge and assign roles",
    )
    check_dependencies = ob.Command(
        _DEPENDENCIES,
        title="Check the dependencies",
        outputs=("failed_dependencies",),
        irreversible=probes.READ_ONLY,
        idempotent=True,
        on_failure="stop",
    )
    recovery_action = ob.Gate.choose(
        "Dependencies failing: {outputs.failed_dependencies}. How is {service} recovered?",
        ["restart", "failover", "rollback", "dependency"],
        title="Choose the recovery",
        description=(
            "restart: the service crashed or hangs and its dependencies answer. failover: "
            "the primary site is impaired and the standby is healthy. rollback: a release "
            "just before the outage. dependency: a failing dependency above; its owner "
            "recovers it."
        ),
    )
    restart = ob.Command(
        "sh -c -- {restart_command}",
        title="Restart the service",
        when='answers.recovery_action == "restart" and restart_command',
        idempotent=True,
        irreversible="a restart cannot be undone; it is safe to run again",
        on_failure="stop",
    )
    recover_by_hand = ob.Manual(
        """
        Carry out the recovery ({answers.recovery_action}): restart on every host, fail
        over (promote the standby, move DNS or the load balancer), `opsbooks run
        release.rollback ...`, or get the dependency's owner to recover it.
        """,
        title="Recover by hand",
        when='not (answers.recovery_action == "restart" and restart_command)',
    )
    post_update = ob.Notify(
        comms.update("recovery under way ({answers.recovery_action})"),
        title="Post a status update",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    wait_for_service = ob.WaitUntil(
        probes.healthy(),
        title="Wait for the service to answer",
        poll=ob.Poll(interval=5, timeout=1800),
        marks="incident.mitigated",
        on_failure="stop",
    )
    verify_recovery = ob.Verify(
        _REQUESTS,
        expect="every one of verify_requests consecutive health checks answers 2xx",
        title="Verify the recovery",
    )
    verify_dependencies = ob.Verify(
        _DEPENDENCIES.replace(
            'echo "::output failed_dependencies=${failed:- none}"', 'test -z "$failed"'
        ),
        expect="every dependency answers 2xx",
        title="Verify the dependencies",
    )
    confirm_resolved = ob.Gate.confirm(
        "Is the outage of {service} over: users can use it again?",
        title="Confirm the resolution",
        description=(
            "Check real user traffic is back (request rate on the dashboard) and support "
            "has no new reports for ten minutes."
        ),
        marks="incident.resolved",
    )
    announce_resolved = ob.Notify(
        comms.RESOLVED,
        channel="page",
        title="Tell the responders",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    status_resolved = ob.Notify(
        comms.STATUS_RESOLVED,
        title="Post the status page resolution",
        retry=comms.DELIVERY,
        on_failure="stop",
    )
    write_review = steps.review_step()
