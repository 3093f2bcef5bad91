"""SLA/SLO check: availability, error budget left and the burn-rate verdict."""

from __future__ import annotations

from typing import Literal

import opsbooks as ob
from opsbooks_playbooks.actions.monitoring import JOB_PATTERN, action
from opsbooks_playbooks.monitoring import REVIEWED, URL_PATTERN


class SlaCheck(ob.Runbook):
    """Measure a service's availability against its SLO and say how much error budget
    is left and how fast it burns.

    Availability comes from Prometheus (`avg_over_time(up[WINDOW])`, or 1 - 5xx/total
    requests) or from a health-check history file (lines `TIME ok|fail`). The verdict:
    `exhausted` (no budget left: freeze risky changes), `fast-burn` (the last hour's
    burn rate at or above `fast`, 14.4 by default: 2% of a 30-day budget in one hour:
    page), `slow-burn` (the last 6 hours' at or above `slow`, 6: open a ticket), `ok`.
    Run it weekly and before approving a risky release.
    """

    title = "SLA and Error Budget Check"
    owner = "SRE"
    scope = "One service's SLO over one window. Reads Prometheus or the history file only."
    prerequisites = [
        "The SLO target agreed with the service owner (`target`, e.g. 0.999)",
        "Prometheus scraping the job for the whole window, or a health-check history",
    ]
    verification = [
        "The run prints availability, budget, budget spent and left, burn rate and verdict",
        "An exhausted budget or a fast burn is acted on (gate `budget_action`)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`no data for avg(avg_over_time(up{job=...}))`",
            cause="The job name is wrong or the job was not scraped in the window.",
            solution="Check `curl -s PROM/api/v1/label/job/values`.",
        ),
        ob.Trouble(
            symptom="Availability far lower than users saw",
            cause="`up` counts scrape failures too (a network blip between Prometheus "
            "and the target).",
            solution="Use source=requests (what users saw) when the job exports "
            "http_requests_total.",
        ),
        ob.Trouble(
            symptom="`expected TIME ok or TIME fail`",
            cause="A line of the history file has another shape.",
            solution="Write one check per line: `2026-12-02T09:00:00Z ok`.",
        ),
    ]
    recovery = "Nothing to undo: the runbook only reads."
    related = ["monitoring.alert_response", "monitoring.performance"]
    last_reviewed = REVIEWED
    review_every_days = 90
    changelog = [ob.Change(REVIEWED, "First version: up, request ratio or history; burn rate")]

    class Params(ob.Params):
        job: str = ob.Field(pattern=JOB_PATTERN, description="Prometheus job (or service name)")
        target: float = ob.Field(0.999, gt=0, lt=1, description="SLO target, e.g. 0.999")
        window: str = ob.Field("30d", pattern=r"^[0-9]+[mhdw]$", description="SLO window")
        source: Literal["up", "requests", "history"] = ob.Field("up", description="where from")
        prometheus: str = ob.Field(
            "", pattern=f"({URL_PATTERN})|^$", description="Prometheus URL (not for history)"
        )
        history: ob.NoOption = ob.Field("", description="health-check history file")
        at: str = ob.Field("", pattern=r"^([0-9T:.+Z-]*)$", description="window end (empty: now)")
        fast: float = ob.Field(14.4, gt=0, description="1h burn rate that pages")
        slow: float = ob.Field(6.0, gt=0, description="6h burn rate that opens a ticket")

    compute = ob.Command(
        action(
            "sla",
            *("--job", "{job}", "--target", "{target}", "--window", "{window}"),
            *("--source", "{source}", "--prometheus={prometheus}", "--history={history}"),
            *("--at={at}", "--fast", "{fast}", "--slow", "{slow}"),
        ),
        title="Compute availability and error budget",
        outputs=("availability", "budget_left", "burn_rate", "verdict"),
        idempotent=True,
        irreversible="read-only",
    )
    budget_ok = ob.Verify(
        ["test", "{outputs.verdict}", "!=", "exhausted"],
        title="Error budget left",
        expect="{job} has error budget left (availability {outputs.availability}, "
        "burn rate {outputs.burn_rate})",
        on_failure="continue",
    )
    budget_action = ob.Gate.confirm(
        "{job} verdict {outputs.verdict}: burn rate {outputs.burn_rate}, "
        "{outputs.budget_left} of the budget left. Are the actions for this verdict taken?",
        when='outputs.verdict != "ok"',
        title="Act on the budget",
        description=(
            "exhausted: freeze risky releases until the budget recovers and schedule "
            "reliability work; fast-burn: page the owner now (monitoring.alert_response); "
            "slow-burn: open a ticket for this sprint. Say yes once done."
        ),
    )
    report = ob.Notify(
        "{job} SLO {target} over {window}: availability {outputs.availability}, "
        "budget left {outputs.budget_left}, burn rate {outputs.burn_rate}: {outputs.verdict}.",
        title="Report the SLO status",
    )
