"""Scheduled performance investigation: figures, baseline comparison, report, follow-up."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.backup import DB_URL_HELP
from opsbooks_playbooks.maintenance import maint_action

FOLDER = "{report_dir}/{run_id}"
REPORT = "{report_dir}/{run_id}/report.md"


class PerformanceInvestigation(ob.Runbook):
    """Collect a service's performance figures, compare them with the baseline, decide.

    Run it on a schedule (weekly) or when users report slowness. It reads the
    database's slowest statements (`pg_stat_statements` when installed, else
    `pg_stat_activity` snapshots), measures each endpoint in `urls` (p50, p95, max,
    errors; slowest first) and the host's pressure (load per CPU, available memory,
    PSI, disk use), compares every figure with the stored baseline and writes a
    findings report. A person then decides the follow-up (a ticket, a change request,
    or nothing); the decision is recorded in the report and the journal.
    """

    title = "Performance Investigation"
    owner = "Platform engineering"
    severity = "medium"
    scope = (
        "One service: its PostgreSQL database (optional), its HTTP endpoints and the host "
        "this runs on. It measures and reports; it never changes the service."
    )
    prerequisites = [
        "The endpoints in `urls` are reachable from here and safe to GET repeatedly",
        "PostgreSQL: a user that may read pg_stat_activity (pg_monitor role) and, if "
        "installed, pg_stat_statements",
        "The baseline file from an earlier run (the first run saves one)",
    ]
    verification = [
        "The report (`report.md` in the run's folder) lists every figure beside its baseline",
        "The decision (`decide`) is recorded at the end of the report",
        "For `ticket` or `change.request`, the draft beside the report is filed and owned",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`database` shows `pg_stat_statements is not installed`",
            cause="The extension is not in shared_preload_libraries or not created.",
            solution="Add `pg_stat_statements` to shared_preload_libraries (restart), then "
            "`psql -c 'CREATE EXTENSION pg_stat_statements'`; until then the snapshots of "
            "pg_stat_activity stand in.",
        ),
        ob.Trouble(
            symptom="Every endpoint shows errors with status `None`",
            cause="The URLs are not reachable from this host (DNS, firewall, TLS).",
            solution="Check with `curl -sv URL` and `getent hosts HOST` from this machine.",
        ),
        ob.Trouble(
            symptom="The report flags host figures on every run",
            cause="The baseline was taken on a quiet host or another machine.",
            solution="Move the baseline file away after a representative run; the next run "
            "saves a new one.",
        ),
    ]
    recovery = (
        "Nothing to recover: the run only reads figures and writes files in `report_dir` "
        "(and the baseline on its first run). Delete the run's folder to discard it."
    )
    related = ["maintenance.database", "security.incident_response"]
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [ob.Change("2026-12-02", "First version: database, endpoints, host")]

    class Params(ob.Params):
        urls: list[ob.NoOption] = ob.Field(
            description="Endpoints to measure (http:// or https://, no spaces), slowest first"
        )
        db: ob.SecretStr = ob.Field(
            ob.SecretStr(""), description=f"Database to read (empty: none): {DB_URL_HELP}"
        )
        samples: int = ob.Field(5, ge=1, le=1000, description="Requests per endpoint")
        snapshots: int = ob.Field(3, ge=1, le=100, description="pg_stat_activity snapshots")
        snapshot_interval: float = ob.Field(
            1.0, ge=0, description="Seconds between pg_stat_activity snapshots"
        )
        baseline: ob.NoOption = ob.Field(
            ".opsbooks/performance/baseline.json", description="Baseline figures (JSON)"
        )
        regression_pct: float = ob.Field(
            20.0, gt=0, description="A figure this many percent worse than baseline is a finding"
        )
        report_dir: ob.NoOption = ob.Field(
            ".opsbooks/performance", description="Folder for each run's figures and report"
        )

    database = ob.Command(
        maint_action(
            "perf-db",
            "--db",
            "env:DB_URL",
            "--out",
            f"{FOLDER}/database.json",
            "--snapshots",
            "{snapshots}",
            "--interval",
            "{snapshot_interval}",
        ),
        env={"DB_URL": "{db}"},
        when="db",
        title="Read the database's figures",
        description="pg_stat_statements' slowest statements by mean time when installed, "
        "else `snapshots` snapshots of pg_stat_activity (active, waiting, longest query).",
        idempotent=True,
        irreversible="read-only measurement",
    )
    endpoints = ob.Command(
        maint_action(
            "perf-endpoints",
            "--out",
            f"{FOLDER}/endpoints.json",
            "--samples",
            "{samples}",
            "--url",
            "{urls}",
        ),
        title="Measure the endpoints",
        description="`samples` GETs per URL: p50, p95, max and errors, slowest first.",
        idempotent=True,
        irreversible="read-only measurement",
    )
    host = ob.Command(
        maint_action("perf-host", "--out", f"{FOLDER}/host.json"),
        title="Read the host's pressure",
        description="Load per CPU (/proc/loadavg), MemAvailable, PSI (/proc/pressure) and "
        "disk use.",
        idempotent=True,
        irreversible="read-only measurement",
    )
    report = ob.Command(
        maint_action(
            "perf-report",
            "--dir",
            FOLDER,
            "--baseline",
            "{baseline}",
            "--regression-pct",
            "{regression_pct}",
            "--out",
            REPORT,
            "--run",
            "{run_id}",
        ),
        outputs=("findings", "verdict", "report"),
        title="Compare with the baseline and write the report",
        description="Each figure against the baseline; worse by more than `regression_pct` "
        "is a finding. With no baseline yet, the figures are saved as the baseline.",
        idempotent=True,
        irreversible="writes the run's own report (and a first baseline); nothing to undo",
    )
    decide = ob.Gate.choose(
        "{outputs.findings} finding(s), verdict {outputs.verdict}; report {outputs.report}. "
        "What follow-up does this need?",
        ["ticket", "change.request", "nothing"],
        title="Decide the follow-up",
        description=(
            "Read the findings in the report. A regression with a known fix that changes "
            "production is a change.request; one that needs investigating is a ticket; "
            "noise or an explained one-off is nothing (say why in the run's note)."
        ),
    )
    record_followup = ob.Command(
        maint_action(
            "perf-followup",
            "--report",
            REPORT,
            "--decision",
            "{answers.decide}",
            "--run",
            "{run_id}",
        ),
        title="Record the follow-up",
        description="Appends the decision to the report; drafts the ticket or change "
        "request beside it.",
        idempotent=True,
        irreversible="the record of a decision is kept, never unwritten",
    )
