"""Capacity planning: current usage, growth trends and the dates thresholds are reached."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.actions.monitoring import JOB_PATTERN, action
from opsbooks_playbooks.monitoring import REVIEWED, URL_PATTERN


class CapacityPlanning(ob.Runbook):
    """Find which resources run out, and when, early enough to add capacity calmly.

    Collects this host's disk (`df -P`), memory (`/proc/meminfo`) and CPU load
    (`/proc/loadavg` per CPU) and, from Prometheus, the growth of disk and memory
    use of the job over `lookback`, fitted with a least-squares line as
    `predict_linear` does. Writes a Markdown report with each projected trigger date
    ("disk /var reaches 85% on 2027-01-14"); a trigger within `horizon_days` asks
    for a capacity request.
    """

    title = "Capacity Planning"
    owner = "Platform engineering"
    scope = (
        "This host and the hosts of one Prometheus job running node_exporter. Reads "
        "only; writes the report file."
    )
    prerequisites = [
        "Prometheus reachable at `prometheus`, with node_exporter series "
        "(node_filesystem_*, node_memory_*) for the job over `lookback`",
        "Thresholds agreed with the service owners (params or [params] configuration)",
    ]
    verification = [
        "The report file lists every resource with its figure, threshold and trigger date",
        "Every trigger within the horizon has a capacity request (gate `request_filed`)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`Prometheus has no node_filesystem/node_memory series for job ...`",
            cause="node_exporter is not scraped under that job name.",
            solution="Check `curl -s PROM/api/v1/label/job/values`; use the job it lists.",
        ),
        ob.Trouble(
            symptom="`fewer than two samples: not enough history`",
            cause="The job was scraped for less than two steps of the lookback.",
            solution="Wait a day, or shorten `lookback`.",
        ),
        ob.Trouble(
            symptom="A trigger date jumps from run to run",
            cause="Usage is not linear (a weekly batch, a log rotation).",
            solution="Use a lookback of several whole cycles (28d for weekly jobs).",
        ),
    ]
    recovery = "Nothing to undo: the runbook reads figures and writes the report file."
    related = ["monitoring.performance", "monitoring.sla"]
    last_reviewed = REVIEWED
    review_every_days = 90
    changelog = [ob.Change(REVIEWED, "First version: df, meminfo, loadavg, Prometheus trends")]

    class Params(ob.Params):
        prometheus: str = ob.Field(pattern=URL_PATTERN, description="Prometheus URL")
        job: str = ob.Field("node", pattern=JOB_PATTERN, description="node_exporter job")
        report: ob.NoOption = ob.Field("capacity-report.md", description="report file to write")
        path: ob.NoOption = ob.Field("/", description="local mount point to check with df")
        lookback: str = ob.Field("7d", pattern=r"^[0-9]+[hdw]$", description="history to fit")
        disk: float = ob.Field(0.85, gt=0, le=1, description="disk use threshold (0.85 = 85%)")
        memory: float = ob.Field(0.9, gt=0, le=1, description="memory use threshold")
        load: float = ob.Field(1.0, gt=0, description="15-minute load per CPU threshold")
        horizon_days: float = ob.Field(30, gt=0, description="ask for capacity this far ahead")

    collect = ob.Command(
        action(
            "capacity",
            *("--prometheus", "{prometheus}", "--job", "{job}", "--report", "{report}"),
            *("--path", "{path}", "--lookback", "{lookback}", "--disk", "{disk}"),
            *("--memory", "{memory}", "--load", "{load}", "--horizon-days", "{horizon_days}"),
        ),
        title="Collect figures and project trends",
        outputs=("triggers", "over", "first_trigger"),
        idempotent=True,
        irreversible="writes only the report file, replaced on each run",
    )
    report_written = ob.Verify(
        ["grep", "-q", "^## Figures", "{report}"],
        title="The report is written",
        expect="{report} holds the figures table",
    )
    request_capacity = ob.Manual(
        """
        {outputs.triggers} resource(s) reach their threshold within {horizon_days}
        days; the first: {outputs.first_trigger}. Open a capacity request with the
        report {report} attached: which resource, the date, and how much to add to
        last another quarter at the growth shown.
        """,
        when="outputs.triggers > 0",
        title="Request capacity",
    )
    request_filed = ob.Gate.confirm(
        "Is a capacity request filed for every trigger in {report}?",
        when="outputs.triggers > 0",
        title="Capacity request filed",
        description="Check that each trigger date in the report has a ticket with an "
        "owner and a date before the trigger.",
    )
    share = ob.Notify(
        "Capacity report {report}: {outputs.triggers} trigger(s) within {horizon_days} "
        "days (first: {outputs.first_trigger}); over threshold now: {outputs.over}.",
        title="Share the report",
    )
