"""Respond to firing alerts: read, classify, acknowledge with a silence, route to a runbook."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import opsbooks as ob
from opsbooks_playbooks.actions.incident.params import NAME, check_incident_params
from opsbooks_playbooks.actions.monitoring import action
from opsbooks_playbooks.actions.monitoring import alerts as am
from opsbooks_playbooks.monitoring import REVIEWED, URL_PATTERN

#: in the run's state directory (the actions resolve it against $OPSBOOKS_STATE_DIR)
_SAVED = "alerts-{run_id}.json"
_FIRING = "outputs.alert_count > 0"


class AlertResponse(ob.Runbook):
    """Take the firing alerts from Alertmanager, classify them by the incident policy,
    acknowledge them with a silence, and work the most severe with the runbook its
    `runbook` label names, as a linked run.

    One run handles the most severe alert and every alert with the same `runbook`
    label; the others stay firing, unsilenced, and the last step says to run again.
    Use it when you are paged, or at the start of an on-call shift with alerts open.
    The silence is the acknowledgement: it is created by the run's operator, says
    which run it belongs to, and stops the page repeating while you work. The
    linked run keeps its own journal, so its owners can report and resume it on its
    own; this run records when the incident was detected, acknowledged and mitigated.
    """

    title = "Alert Response"
    owner = "SRE on-call"
    scope = (
        "Alerts firing in one Alertmanager (optionally only those matching labels, e.g. "
        "service=checkout). A run takes the most severe alert and the alerts sharing its "
        "runbook; run again for the rest (the ones already silenced are left out)."
    )
    prerequisites = [
        "Network access to the Alertmanager API (the `alertmanager` URL)",
        "Alert rules label each alert with `severity` (critical, error, warning, info or "
        "SEV1..SEV4) and `runbook` (the catalog name of the runbook that handles it)",
        "The incident policy in `[tool.opsbooks.incidents]` (the defaults work)",
    ]
    verification = [
        "`amtool silence query --alertmanager.url URL` lists the silences, created by you, "
        "with this run's id in the comment",
        "The linked run of the alert's runbook ended succeeded (step `route`)",
        "The alert no longer fires once the silence expires",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`cannot reach Alertmanager at ...: Connection refused`",
            cause="Wrong URL or port, or Alertmanager is down (then no page reaches anyone).",
            solution="Check `curl -fsS URL/-/ready`; if it is down, restart it "
            "(`systemctl restart prometheus-alertmanager`) and page by phone meanwhile.",
        ),
        ob.Trouble(
            symptom="`alert X has severity label 'sev-high'`",
            cause="The rule labels severity with a word the policy does not know.",
            solution="Relabel the rule with critical, error, warning, info or SEV1..SEV4.",
        ),
        ob.Trouble(
            symptom="`the linked run of foo.bar could not run: no runbook named 'foo.bar'`",
            cause="The alert's `runbook` label names no runbook in the catalog.",
            solution="Fix the label in the rule (`opsbooks list` shows the names); work "
            "the alert by hand meanwhile.",
        ),
        ob.Trouble(
            symptom="The alert pages again while you work on it",
            cause="The silence expired (`silence_hours`) or the labels changed.",
            solution="Run again: it silences what fires now, with the new labels.",
        ),
    ]
    recovery = (
        "If a later step fails, rollback expires the silences this run created "
        "(step `unsilence`), so the alerts page again and nobody is left thinking they "
        "are handled. To do it by hand: `amtool silence expire --alertmanager.url URL ID`."
    )
    related = ["monitoring.setup", "monitoring.sla", "security.incident_response"]
    last_reviewed = REVIEWED
    review_every_days = 90
    changelog = [
        ob.Change(REVIEWED, "First version: Alertmanager v2 API, linked runbooks"),
        ob.Change(REVIEWED, "Alerts kept in the configured state dir; impact from the policy"),
    ]

    class Params(ob.Params):
        alertmanager: str = ob.Field(pattern=URL_PATTERN, description="Alertmanager URL")
        match: str = ob.Field(
            "",
            pattern=r"^([A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9_.:/-]*(,[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9_.:/-]*)*)?$",
            description="only alerts with these labels, e.g. service=checkout,env=prod",
        )
        impact: str = ob.Field(
            "moderate",
            pattern=NAME,
            description="impact when an alert has no `impact` label: an impact of the "
            "incident policy ([tool.opsbooks.incidents] impacts)",
        )
        silence_hours: float = ob.Field(2.0, gt=0, le=72, description="how long the silences last")

    @classmethod
    def check_params(cls, params: ob.Params, config: Mapping[str, Any]) -> None:
        """Refuse an impact the incident policy does not know, before the run starts."""
        check_incident_params(cls.name, params, config)

    read_alerts = ob.Command(
        action(
            "read-alerts", "--alertmanager", "{alertmanager}", "--save", _SAVED, "--match={match}"
        ),
        title="Read the firing alerts",
        description="GET /api/v2/alerts (active, not silenced or inhibited), most severe "
        "first; keeps the alerts the most severe one's runbook handles for this run.",
        outputs=(
            *("alert_count", "pending", "alertname", "alert_runbook", "alert_severity"),
            "alert_started",
        ),
        idempotent=True,
        irreversible="read-only: it saves what it read in the run's state directory",
    )

    @ob.step(
        title="Classify the alerts",
        when=_FIRING,
        idempotent=True,
        irreversible="read-only: it records the classification as facts",
    )
    def classify(self, ctx: ob.StepContext) -> str:
        """Map each alert's severity label to SEV1..SEV4 through the incident policy."""
        policy = ob.IncidentPolicy.from_config(ctx.config)
        state = ctx.workdir / str(ctx.config.get("state_dir") or ".opsbooks")
        saved = am.load(state / _SAVED.replace("{run_id}", ctx.run_id))
        impact = str(self.params.impact)  # type: ignore[attr-defined]
        lines = []
        for alert in saved:
            labels = am.labels(alert)
            sev = am.severity(labels, impact, policy.classify)
            lines.append(
                f"{labels.get('alertname', '?')}: {sev} (severity={labels.get('severity', '')})"
            )
        top = am.labels(saved[0])
        sev = am.severity(top, impact, policy.classify)
        lines += [
            f"::fact incident.severity={sev}",
            f"::fact incident.id=ALERT-{saved[0].get('fingerprint', '')}",
            f"::fact incident.detected @{saved[0].get('startsAt', '')}",
        ]
        return "\n".join(lines)

    acknowledge = ob.Gate.confirm(
        "{outputs.alert_count} alert(s) for runbook {outputs.alert_runbook}; the most "
        "severe is {outputs.alertname} (severity {outputs.alert_severity}, since "
        "{outputs.alert_started}). Acknowledge them and take the incident?",
        when=_FIRING,
        marks="incident.acknowledged",
        title="Acknowledge the alerts",
        description=(
            "Read the classification above (step classify). Say yes only if you are "
            "on call now and will work the incident; say no to leave the page running "
            "for someone who can."
        ),
    )
    silence = ob.Command(
        action(
            "silence",
            *("--alertmanager", "{alertmanager}", "--alerts", _SAVED, "--hours", "{silence_hours}"),
            "--comment=Acknowledged in opsbooks run {run_id} ({runbook}): {outputs.alertname}",
        ),
        when=_FIRING,
        outputs=("silences",),
        title="Silence the acknowledged alerts",
        description="POST /api/v2/silences, one per alert, matching all its labels, "
        "created by the run's operator.",
        undo="unsilence",
    )
    unsilence = ob.Command(
        action("unsilence", "--alertmanager", "{alertmanager}", "--ids={outputs.silences}"),
        title="Expire the silences",
        idempotent=True,
    )
    announce = ob.Notify(
        "Alert {outputs.alertname} ({outputs.alert_severity}) acknowledged in run {run_id}; "
        "working it with {outputs.alert_runbook}.",
        when=_FIRING,
        title="Announce who has the incident",
    )
    route = ob.SubRun(
        "{outputs.alert_runbook}",
        chosen_by="the runbook named by the alert's runbook label",
        when=f"{_FIRING} and outputs.alert_runbook",
        marks=("incident.mitigated",),
        title="Work the alert with its runbook",
    )
    by_hand = ob.Manual(
        """
        {outputs.alertname} has no `runbook` label. Diagnose it from the alert's
        annotations and the dashboards, record what you did in the incident channel,
        and add a `runbook` label to its rule so the next on-call gets a procedure.
        """,
        when=f"{_FIRING} and not outputs.alert_runbook",
        marks=("incident.mitigated",),
        title="Work the alert by hand",
    )
    next_alerts = ob.Manual(
        """
        {outputs.pending} other alert(s) still fire, unsilenced, for other runbooks.
        Run monitoring.alert_response again to take the next one (or hand it to a
        second on-call engineer now).
        """,
        when="outputs.pending > 0",
        title="Take the next alerts",
    )
