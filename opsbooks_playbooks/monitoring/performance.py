"""Record a performance baseline from Prometheus, or compare today's figures with it."""

from __future__ import annotations

from typing import Literal

import opsbooks as ob
from opsbooks_playbooks.actions.monitoring import JOB_PATTERN, action
from opsbooks_playbooks.monitoring import REVIEWED, URL_PATTERN

_WINDOW = r"^[0-9]+[smhd]$"


class Performance(ob.Runbook):
    """Keep a performance baseline of a service and catch regressions against it.

    `mode=record` measures request rate, 5xx error ratio and p90 latency from
    Prometheus and writes them, with the time, to the baseline file (keep it in the
    service's repository). `mode=compare` measures the same figures now (or at `at`)
    and fails, with both numbers, when one is worse than the baseline beyond the
    tolerance. Record after a release that is known good; compare after every release
    and when users report slowness.
    """

    title = "Performance Baseline and Regression Check"
    owner = "SRE"
    scope = (
        "One Prometheus job that exports http_requests_total{code} and the histogram "
        "http_request_duration_seconds (the conventions of the Prometheus client "
        "libraries). Reads Prometheus and writes only the baseline file."
    )
    prerequisites = [
        "Prometheus reachable at `prometheus`, scraping the job for at least `window`",
        "For compare: a baseline file recorded by this runbook",
        "Normal traffic: a baseline taken in a quiet hour flags every busy hour",
    ]
    verification = [
        "record: the baseline file holds request_rate, error_ratio and p90_latency_seconds",
        "compare: the run says `within tolerance of the baseline`",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`no data for p90_latency_seconds (...)`",
            cause="The job exports no histogram, or the name differs.",
            solution="Check `curl -s TARGET/metrics | grep _bucket`; adapt the service "
            "to the client library's default names.",
        ),
        ob.Trouble(
            symptom="`performance regression ...: p90 latency rose 200%`",
            cause="The release or a dependency made requests slower.",
            solution="Roll back with `release.rollback` if the release is the cause; "
            "otherwise look at the slowest endpoints (`topk(5, histogram_quantile(0.9, "
            "sum by (le, handler) (rate(http_request_duration_seconds_bucket[5m]))))`).",
        ),
        ob.Trouble(
            symptom="`no baseline at ...`",
            cause="No baseline was recorded yet for this job, or the path is wrong.",
            solution="Run with mode=record at a known-good time (at=... for a past one).",
        ),
    ]
    recovery = (
        "record replaces the baseline file; the previous one is in the repository's "
        "history (`git checkout -- FILE`). compare changes nothing."
    )
    related = ["monitoring.capacity_planning", "monitoring.sla", "release.rollback"]
    last_reviewed = REVIEWED
    review_every_days = 180
    changelog = [ob.Change(REVIEWED, "First version: rate, error ratio, p90 latency")]

    class Params(ob.Params):
        prometheus: str = ob.Field(pattern=URL_PATTERN, description="Prometheus URL")
        job: str = ob.Field(pattern=JOB_PATTERN, description="Prometheus job of the service")
        baseline: ob.NoOption = ob.Field(description="baseline JSON file")
        mode: Literal["record", "compare"] = ob.Field("compare", description="record or compare")
        window: str = ob.Field("5m", pattern=_WINDOW, description="rate window, e.g. 5m")
        at: str = ob.Field(
            "", pattern=r"^([0-9T:.+Z-]*)$", description="RFC 3339 time to measure at (empty: now)"
        )
        tolerance: float = ob.Field(0.2, ge=0, description="relative change allowed (0.2 = 20%)")
        error_points: float = ob.Field(0.01, ge=0, description="error ratio rise allowed")

    prometheus_ready = ob.Verify(
        ["curl", "-fsS", "--max-time", "5", "{prometheus}/-/ready"],
        title="Prometheus answers",
        expect="Prometheus at {prometheus} is ready",
    )
    confirm_record = ob.Gate.confirm(
        "Record a new baseline of {job} into {baseline}, replacing the one there?",
        when="mode == record",
        title="Record a new baseline",
        description=(
            "A baseline is what every later release is held to: check on the dashboards "
            "that the service is healthy and traffic normal at the time measured."
        ),
    )
    measure = ob.Command(
        action(
            "performance",
            *("--prometheus", "{prometheus}", "--job", "{job}", "--baseline", "{baseline}"),
            *("--mode", "{mode}", "--window", "{window}", "--at={at}"),
            *("--tolerance", "{tolerance}", "--error-points", "{error_points}"),
        ),
        title="Measure and record or compare",
        description="Queries /api/v1/query for the three figures; compare fails on a "
        "regression beyond tolerance, naming the figures.",
        outputs=("request_rate", "error_ratio", "p90_latency_seconds"),
        irreversible="record replaces the baseline file, kept in version control",
    )
    announce = ob.Notify(
        "{job} performance ({mode}): {outputs.request_rate} req/s, error ratio "
        "{outputs.error_ratio}, p90 {outputs.p90_latency_seconds}s.",
        title="Share the figures",
    )
