"""``opsbooks stats --since 90d``: how the runbooks are used and how well they work.

Read from the journal (runs, transitions, gates) and git (commits per runbook module);
computed by ``opsbooks.govern.stats``; shown as a table, JSON, or the Markdown operations
report with its charts (``--format markdown``, matplotlib from the ``report`` extra).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from opsbooks.define.policies import seconds
from opsbooks.edges.charts import draw, pyplot
from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.cli.tables import show_table
from opsbooks.edges.governance import book_facts, commits_since, module_file, read_history
from opsbooks.edges.tty import on_terminal
from opsbooks.errors import EXIT_OK, BadInput
from opsbooks.govern.settings import StatsSettings, load
from opsbooks.govern.stats import compute
from opsbooks.render.operations_report import (
    HEADER,
    heading,
    lists,
    render_markdown,
    render_table,
    rows,
)

DEFAULT_REPORT = "docs/operations-report.md"


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "stats", help="runs, success and escalation rates, durations, MTTR, drills, usage"
    )
    parser.add_argument(
        "--since", default="90d", help="a duration back from now (90d, 12h) or a date (2026-01-01)"
    )
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"where --format markdown writes the report (default: {DEFAULT_REPORT}); the "
        f"chart images are written next to it",
    )
    parser.set_defaults(handler=stats_command)


def since_epoch(text: str, now: float) -> float:
    """``90d`` -> now minus 90 days; ``2026-01-01`` -> that day at 00:00 UTC."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        pass
    else:
        return dt.datetime.combine(day, dt.time(), dt.UTC).timestamp()
    try:
        return now - seconds(text)
    except ValueError:
        raise BadInput(
            f"--since {text!r} is neither a duration nor a date; use e.g. --since 90d, "
            f"--since 12h or --since 2026-01-01"
        ) from None


def stats_command(args: argparse.Namespace, app: App) -> int:
    settings: StatsSettings = load(StatsSettings, app.config.stats, "stats")
    # the incident policy's MTTR per severity is the target unless [stats] names one
    policy = app.config.incidents.mttr
    settings = settings.model_copy(update={"mttr_targets": {**policy, **settings.mttr_targets}})
    now = time.time()
    since = since_epoch(args.since, now)
    if args.format == "markdown":
        pyplot()  # refuse before reading anything when the report extra is missing
    catalog = app.catalog()
    books = {rb.name: book_facts(rb) for rb in catalog}
    commits = {rb.name: commits_since(module_file(rb), since) for rb in catalog}
    history = read_history(app.config, since=since)
    stats = compute(history, books, since=since, until=now, commits=commits, settings=settings)
    if args.format == "json":
        app.say(json.dumps(stats.to_dict(), indent=2))
    elif args.format == "markdown":
        out = app.cwd / args.out if args.out else app.config.path(DEFAULT_REPORT)
        out.parent.mkdir(parents=True, exist_ok=True)
        charts = draw(stats, out.parent)
        out.write_text(render_markdown(stats, charts), encoding="utf-8")
        app.say(f"wrote {out} with {len(charts)} chart(s): {', '.join(charts.values()) or '-'}")
    elif on_terminal(app.out, app.environ):  # the same table, drawn by rich
        app.say(heading(stats) + "\n")
        show_table(app.out, app.environ, HEADER, rows(stats), right=range(1, len(HEADER)))
        for title, items in lists(stats):
            app.say("\n".join(["", title, *(f"  {item}" for item in items or ["(none)"])]))
    else:
        app.out.write(render_table(stats))
    return EXIT_OK
