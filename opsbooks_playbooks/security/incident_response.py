"""Security incident response: assess, contain, investigate, remediate, communicate."""

from __future__ import annotations

import opsbooks as ob

_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class IncidentResponse(ob.Runbook):
    """Respond to a suspected security incident quickly, consistently and with evidence kept.

    Use it as soon as someone reports a possible compromise, data exposure or
    exploited vulnerability. The run records who chose the severity, when
    containment was confirmed and where the evidence archive is, so the post-incident
    review reads facts from the journal instead of memories.
    """

    title = "Security Incident Response"
    owner = "Security team"
    scope = (
        "Suspected or confirmed security incidents in our services, infrastructure or "
        "release pipeline: compromised credentials or hosts, data exposure, exploited "
        "vulnerabilities, tampered releases. Not for routine vulnerability patching with "
        "no sign of exploitation."
    )
    prerequisites = [
        "A security incident has been reported or detected",
        "You can open an incident record and a private incident channel",
        "Read access to the affected systems' logs (the `log_dir` parameter)",
        "An incident commander is named; they own every gate below",
    ]
    verification = [
        "The incident is contained: no further unauthorised access in the logs",
        "The evidence archive and its `.sha256` file are stored outside the affected hosts",
        "The vulnerability is fixed and the fix is deployed and verified",
        "Affected users are notified (SEV1 and SEV2) and the advisory is published",
        "The incident is documented and a post-incident review is scheduled",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`tar: .: file changed as we read it` and the snapshot step fails",
            cause="A service is still writing to the log directory while it is archived.",
            solution=(
                "Run the step again (it is idempotent and overwrites the archive); if it "
                "keeps failing, copy the directory first with `cp -a` and point `log_dir` "
                "at the copy."
            ),
        ),
        ob.Trouble(
            symptom="`tar: Cannot open: Permission denied` while snapshotting evidence",
            cause="The operator cannot read every file in `log_dir`.",
            solution="Run opsbooks as a user in the `adm` group or with sudo on the host.",
        ),
        ob.Trouble(
            symptom="`sha256sum: WARNING: 1 computed checksum did NOT match`",
            cause="The archive changed after it was taken, or the disk is failing.",
            solution=(
                "Do not overwrite it. Take a second snapshot into a new `evidence_dir`, "
                "keep both, and record the mismatch in the incident log."
            ),
        ),
        ob.Trouble(
            symptom="Unauthorised activity continues after containment",
            cause=(
                "Containment missed a persistence mechanism (a second credential, a cron "
                "job, an SSH key) or another affected host."
            ),
            solution=(
                "Decline the containment gate; rotate every credential in scope, search "
                "all hosts for the indicators, then resume the run."
            ),
        ),
        ob.Trouble(
            symptom="Nobody received the incident notification",
            cause="The `default` notify channel is not configured or its webhook failed.",
            solution=(
                "Check `[tool.opsbooks.notify]`; meanwhile page the contacts below by phone."
            ),
        ),
    ]
    recovery = (
        "This procedure changes nothing it could undo automatically: containment and "
        "remediation are done by people. If a fix made things worse, roll the release "
        "back with `release.rollback` and keep the incident open. If the run stops, "
        "resume it with `opsbooks resume`; the severity choice and every confirmation "
        "stay recorded."
    )
    related = ["release.rollback", "release.deploy"]
    last_reviewed = "2026-11-28"
    review_every_days = 90
    changelog = [
        ob.Change("2026-11-28", "First executable version, from the Markdown runbook", "ops"),
    ]

    class Params(ob.Params):
        incident_id: str = ob.Field(
            pattern=_ID, description="Incident record id, e.g. INC-2026-042"
        )
        commander: str = ob.Field(description="Incident commander: name or handle")
        log_dir: ob.NoOption = ob.Field(
            "/var/log", description="Directory of logs to preserve as evidence"
        )
        evidence_dir: ob.NoOption = ob.Field(
            "/var/tmp/incident-evidence",
            description="Where the evidence archive and its checksum are written",
        )

    open_incident = ob.Manual(
        """
        Open incident record {incident_id} and a private incident channel.
        Name {commander} as incident commander in both, and start a timeline:
        every action from now on is written there with its time (UTC).
        """,
        title="Open the incident record",
    )
    assess_severity = ob.Gate.choose(
        "Severity of incident {incident_id}?",
        ["SEV1", "SEV2", "SEV3", "SEV4"],
        title="Assess severity",
        description=(
            "SEV1: critical; active compromise or customer data exposed. "
            "SEV2: high; exploitable vulnerability in production or a compromised "
            "credential. SEV3: medium; limited impact, no data exposed. "
            "SEV4: low; suspicious activity, no impact found yet."
        ),
    )
    assess_impact = ob.Manual(
        """
        Record in the incident log:

        - the affected systems, accounts and data;
        - whether customer data may be exposed;
        - how urgent the response is, and who else must be involved.
        """,
        title="Assess the impact",
    )
    route_by_severity = ob.Branch(
        on="assess_severity",
        routes={"SEV1": "page_responders", "SEV2": "page_responders"},
        default="contain",
        title="Page responders for SEV1 and SEV2",
    )
    page_responders = ob.Notify(
        "Security incident {incident_id} declared; incident commander {commander}. "
        "Join the incident channel now.",
        title="Page the responders",
    )
    contain = ob.Manual(
        """
        Contain the incident and stop further damage:

        - isolate the affected hosts from the network (do not power them off);
        - revoke or rotate the compromised credentials, keys and tokens;
        - block the attacker's addresses and disable compromised accounts.

        Write each action and its time in the incident log.
        """,
        title="Contain the incident",
    )
    snapshot_evidence = ob.Command(
        "mkdir -p {evidence_dir} && "
        "tar -czf {evidence_dir}/{incident_id}-logs.tar.gz -C {log_dir} . && "
        "sha256sum {evidence_dir}/{incident_id}-logs.tar.gz "
        "> {evidence_dir}/{incident_id}-logs.tar.gz.sha256",
        title="Snapshot the logs as evidence",
        description="Archive the log directory and record its checksum before anything rotates it.",
        timeout="30m",
        idempotent=True,
        irreversible="evidence is kept, never deleted, by policy",
    )
    check_evidence = ob.Verify(
        ["sha256sum", "--check", "{evidence_dir}/{incident_id}-logs.tar.gz.sha256"],
        expect="the archive matches its recorded checksum",
        title="Check the evidence archive",
    )
    confirm_contained = ob.Gate.confirm(
        "Is incident {incident_id} contained, with no further unauthorised access?",
        phrase="{incident_id}",
        title="Confirm containment",
        description=(
            "Check the access logs since the isolation: no new sessions from the attacker, "
            "revoked credentials refused. Say yes only when both hold."
        ),
    )
    announce_contained = ob.Notify(
        "Incident {incident_id} is contained; investigation under way ({commander}).",
        title="Announce containment",
    )
    investigate = ob.Manual(
        """
        Investigate from the evidence archive in {evidence_dir}:

        - identify the root cause and the first point of entry;
        - establish the full scope: systems, accounts, data and time window;
        - document the findings in the incident record.
        """,
        title="Investigate",
    )
    remediate = ob.Manual(
        """
        Fix the vulnerability, test the fix, and deploy it through the normal release
        procedure (`release.deploy`). Restore isolated hosts only from known-good images.
        """,
        title="Remediate",
    )
    confirm_fixed = ob.Gate.confirm(
        "Is the fix for {incident_id} deployed and verified in production?",
        title="Confirm the fix",
        description=(
            "Check the fix's release in production and that the exploited path now refuses "
            "the attack (the incident's reproduction). Say yes only when both hold."
        ),
    )
    route_disclosure = ob.Branch(
        on="assess_severity",
        routes={"SEV3": "announce_resolved", "SEV4": "announce_resolved"},
        default="notify_users",
        title="Disclose externally for SEV1 and SEV2",
    )
    notify_users = ob.Manual(
        """
        Notify the affected users: what happened, what data was involved, what we did,
        and what they should do. Check legal and contractual notice deadlines with
        the incident commander first.
        """,
        title="Notify affected users",
    )
    publish_advisory = ob.Manual(
        "Publish a security advisory for {incident_id} with the affected versions, "
        "the fixed version and any action users must take.",
        title="Publish the security advisory",
    )
    announce_resolved = ob.Notify(
        "Incident {incident_id} is resolved. The post-incident review follows.",
        title="Announce resolution",
    )
    document = ob.Manual(
        """
        Complete the incident record: timeline, root cause, impact, evidence location
        ({evidence_dir}), and follow-up actions with owners. Schedule the blameless
        post-incident review within five working days.
        """,
        title="Document the incident",
    )
