"""``opsbooks history``, ``report`` and ``audit verify``: read what runs left behind."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
from typing import Any

from pydantic import ValidationError

from opsbooks.define import outputs
from opsbooks.define.policies import human
from opsbooks.define.runbook import Runbook
from opsbooks.define.template import TemplateError
from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.cli.tables import show_table
from opsbooks.edges.identity import LocalIdentity
from opsbooks.edges.session import journal_url
from opsbooks.edges.subruns import link_notes
from opsbooks.errors import EXIT_FAILED, BadInput
from opsbooks.plan.binding import plan, with_outputs
from opsbooks.plan.state import RunOutcome, StepStatus
from opsbooks.records.audit import Verification, verify
from opsbooks.records.audit_gates import cross_check
from opsbooks.records.journal import Journal, RunRecord, open_journal
from opsbooks.render.report import render_json, render_markdown, report_data
from opsbooks.render.sections import section_titles


def register(subparsers: Subparsers) -> None:
    history = subparsers.add_parser("history", help="list runs, newest first")
    history.add_argument("name", nargs="?", help="only runs of this runbook")
    history.add_argument("--limit", type=int, default=30)
    history.add_argument("--ids", action="store_true", help="print only run ids, newest first")
    history.set_defaults(handler=history_command)

    report = subparsers.add_parser("report", help="render one run as Markdown or JSON")
    report.add_argument("run_id")
    report.add_argument("--format", choices=("markdown", "json"), default="markdown")
    report.set_defaults(handler=report_command)

    audit = subparsers.add_parser("audit", help="check a run's audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    check = audit_sub.add_parser("verify", help="detect edited, dropped or reordered lines")
    check.add_argument("run_id")
    check.set_defaults(handler=audit_verify_command)


def _journal(app: App) -> Journal:
    return open_journal(journal_url(app.config))


def as_seen(run: RunRecord) -> RunRecord:
    """A ``running`` row whose runner is gone from this host, shown as the crash it is.

    A runner that dies (SIGKILL, OOM, a full disk that refuses even the final write)
    cannot record its own end; the row says ``running`` until a resume closes it. Only
    this host can tell, and only a pid that no longer runs counts as gone.
    """
    identity = LocalIdentity()
    if run.outcome != "running" or run.host != identity.name() or identity.is_alive(run.pid):
        return run
    return dataclasses.replace(run, outcome="interrupted", reason=f"crashed: pid {run.pid} is gone")


def history_command(args: argparse.Namespace, app: App) -> int:
    runs = [as_seen(run) for run in _journal(app).runs(args.name, limit=args.limit)]
    if args.ids:
        for run in runs:
            app.say(run.id)
        return 0
    if not runs:
        app.say("no runs recorded" + (f" for {args.name}" if args.name else ""))
        return 0
    rows = [("RUN", "RUNBOOK", "WHO", "STARTED (UTC)", "DURATION", "OUTCOME")]
    journal = _journal(app)
    links = link_notes(journal, runs)  # linked runs (SubRun): parent and children
    for run in runs:
        started = dt.datetime.fromtimestamp(run.started_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        took = human(run.duration) if run.duration is not None else "-"
        outcome = run.outcome + (f" at {run.failed_step}" if run.failed_step else "")
        outcome += f" ({links[run.id]})" if run.id in links else ""
        outcome += _lease_note(journal, run)
        rows.append((run.id, run.runbook, run.who, started, took, outcome))
    show_table(
        app.out, app.environ, rows[0], rows[1:]
    )  # rich on a terminal, aligned text in a pipe
    return 0


def _lease_note(journal: Journal, run: RunRecord) -> str:
    """How fresh a running run's lock lease is (a run on another machine, too)."""
    lease = journal.lock_lease(run.runbook) if run.outcome == "running" else None
    if lease is None or lease.run_id != run.id:
        return ""
    state = "expired" if lease.expired else f"expires in {lease.expires_in:.0f}s"
    return f" (lease renewed {lease.age:.0f}s ago from {lease.host}, {state})"


def report_command(args: argparse.Namespace, app: App) -> int:
    app.out.write(run_report(app, _journal(app), args.run_id, as_json=args.format == "json"))
    return 0


def run_report(app: App, journal: Journal, run_id: str, *, as_json: bool = False) -> str:
    """The report of one run, as ``opsbooks report`` prints it (``opsbooks evidence`` too)."""
    run = as_seen(journal.get_run(run_id))
    transitions = journal.transitions(run.id)
    published = outputs.recorded(t.detail for t in transitions if t.status is StepStatus.SUCCEEDED)
    commands: dict[str, str] = {}
    titles: dict[str, str] = {}
    with contextlib.suppress(BadInput):
        commands = planned_commands(app.catalog().get(run.runbook), run.params, published)
        titles = section_titles(plan(app.catalog().get(run.runbook)))
    gates, hosts, facts = journal.gates(run.id), journal.host_results(run.id), journal.facts(run.id)
    approvals = journal.approvals(run.id)
    data = report_data(run, transitions, gates, hosts, commands, titles, facts, approvals)
    return render_json(data) if as_json else render_markdown(data)


def planned_commands(
    runbook: type[Runbook], recorded: dict[str, Any], published: dict[str, str] | None = None
) -> dict[str, str]:
    """What each step runs with the run's own (redacted) params and step outputs.

    For steps with no recorded command (skipped ones). Falls back to the unbound
    templates when the recorded params no longer fit the runbook (its definition
    changed since the run); an output the run never published stays a placeholder.
    """
    try:
        bound = plan(runbook, runbook.Params.model_validate(recorded))
    except (ValidationError, BadInput):
        bound = plan(runbook)
    shown: dict[str, str] = {}
    for planned in bound.steps:
        with contextlib.suppress(TemplateError):
            planned = with_outputs(planned, bound.params, published or {})
        if planned.shown:
            shown[planned.id] = planned.shown
    return shown


def audit_verify_command(args: argparse.Namespace, app: App) -> int:
    journal = _journal(app)
    run = journal.get_run(args.run_id)
    result = audit_of(app, journal, run)
    path = result.path
    if result.ok:
        app.say(f"audit trail of run {run.id} verifies: {result.lines} lines, chain intact")
        return 0
    app.say(f"audit trail of run {run.id} does NOT verify ({path}):")
    for problem in result.problems:
        app.say(f"  {problem}")
    return EXIT_FAILED


def audit_of(app: App, journal: Journal, run: RunRecord) -> Verification:
    """Check ``run``'s audit file against its journal anchor and gate decisions."""
    path = app.config.state_path / "runs" / f"{run.id}.jsonl"
    result = verify(path, run.audit_head)
    decisions = [(g.step_id, g.approver, g.source) for g in journal.gates(run.id)]
    in_flight = run.outcome == RunOutcome.RUNNING.value  # killed, or still running
    result.problems.extend(cross_check(path, decisions, in_flight=in_flight))
    return result
