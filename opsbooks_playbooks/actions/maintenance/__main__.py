"""``python -m opsbooks_playbooks.actions.maintenance``: upkeep, recovery and investigation actions.

Exit status: 0 ok; 1 the action or check failed (one line on stderr says why);
2 bad usage. Database URLs are given as ``env:NAME`` (the URL in that environment
variable) so a password never reaches the command line.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from opsbooks.actions import Program
from opsbooks.errors import EXIT_BAD_INPUT
from opsbooks_playbooks.actions import db, state_dir
from opsbooks_playbooks.actions.db import postgres
from opsbooks_playbooks.actions.db.__main__ import url_arg
from opsbooks_playbooks.actions.db.manifest import DbUsageError
from opsbooks_playbooks.actions.maintenance import (
    perf,
    perf_report,
    recover,
    sysrec,
    table_name,
    upkeep,
)

PROG = "python -m opsbooks_playbooks.actions.maintenance"
URL_HELP = "env:NAME for the URL in environment variable NAME (sqlite:/// or postgresql://)"


def _table_arg(text: str) -> str:
    try:
        return table_name(text)
    except DbUsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _tables_arg(text: str) -> list[str]:
    """``a,b.c``: comma-separated table names (empty: every user table)."""
    return [_table_arg(part.strip()) for part in text.split(",") if part.strip()]


def _figures(a: argparse.Namespace) -> str:
    large = a.large_bytes if a.large_bytes >= 0 else None
    return upkeep.figures_report(a.db, a.tables, a.label, Path(a.save), large)


def _operate(a: argparse.Namespace) -> str:
    done = upkeep.operate(a.db, a.operation, a.tables)
    return "\n".join(f"ran {statement}" for statement in done)


def _job(a: argparse.Namespace) -> recover.Job:
    work = Path(a.work) if a.work else state_dir() / "data-recovery"
    return recover.Job(db=a.db, table=a.table, work=work, run=a.run, server=a.server, key=a.key)


def _recover(a: argparse.Namespace) -> str:
    job = _job(a)
    actions = {
        "scratch": lambda: recover.restore_scratch(job, Path(a.backup)),
        "verify": lambda: recover.scratch_figures(
            job, a.sample_sql, a.expect_rows if a.expect_rows >= 0 else None
        ),
        "diff": lambda: recover.diff_report(job, a.mode),
        "safety": lambda: recover.safety_dump(job),
        "copy-back": lambda: recover.copy_back(job, a.mode),
        "check": lambda: recover.check_copied(job, a.mode),
        "undo": lambda: recover.undo_copy_back(job),
        "drop-scratch": lambda: recover.drop_scratch(job),
    }
    return actions[a.action]()


def _add_upkeep(top: Program) -> None:
    item = top.add("figures", _figures, "table/index sizes, dead tuples, bloat; saved as JSON")
    item.add_argument("--db", required=True, type=url_arg, help=URL_HELP)
    item.add_argument("--tables", default=[], type=_tables_arg, help="a,b (empty: all tables)")
    item.add_argument("--label", required=True, choices=["before", "after"])
    item.add_argument("--save", required=True, help="JSON file to write the figures to")
    item.add_argument(
        "--large-bytes", type=int, default=-1, help="print ::output large_tables= at this size"
    )
    item = top.add("operate", _operate, "VACUUM (ANALYZE), ANALYZE or REINDEX")
    item.add_argument("--db", required=True, type=url_arg, help=URL_HELP)
    item.add_argument("--operation", required=True, choices=["vacuum", "analyze", "reindex"])
    item.add_argument("--tables", default=[], type=_tables_arg, help="a,b (empty: all tables)")
    item = top.add("integrity", lambda a: upkeep.integrity(a.db), "integrity / index validity")
    item.add_argument("--db", required=True, type=url_arg, help=URL_HELP)
    item = top.add(
        "summary", lambda a: upkeep.summary(Path(a.before), Path(a.after)), "before vs after"
    )
    item.add_argument("--before", required=True)
    item.add_argument("--after", required=True)


def _add_recover(top: Program) -> None:
    item = top.add(
        "pick-backup",
        lambda a: recover.pick_report(Path(a.backup), a.before, a.table),
        "the verified backup to recover from (newest, or newest taken by --before)",
    )
    item.add_argument("--backup", required=True, help="backup file or directory")
    item.add_argument("--before", default="", help="ISO 8601 point in time (empty: newest)")
    item.add_argument("--table", required=True, type=_table_arg)
    item = top.add("recover", _recover, "one step of a single-table recovery")
    item.add_argument(
        "action",
        choices=[
            "scratch",
            "verify",
            "diff",
            "safety",
            "copy-back",
            "check",
            "undo",
            "drop-scratch",
        ],
    )
    item.add_argument("--db", required=True, type=url_arg, help=URL_HELP)
    item.add_argument("--server", default="", type=url_arg, help="scratch PostgreSQL server")
    item.add_argument("--table", required=True, type=_table_arg)
    item.add_argument("--key", default="id", help="column the rows are matched on")
    item.add_argument(
        "--work",
        default="",
        help="folder for scratch copies and safety dumps (empty: data-recovery in the "
        "run's state directory, $OPSBOOKS_STATE_DIR, else ./.opsbooks)",
    )
    item.add_argument("--run", required=True, help="the run id (names the scratch copies)")
    item.add_argument("--backup", default="", help="backup file (scratch)")
    item.add_argument("--sample-sql", default="", help="query to run on the scratch copy")
    item.add_argument("--expect-rows", type=int, default=-1, help="rows the backup recorded")
    item.add_argument("--mode", default="merge", choices=["merge", "replace"])


def _perf_db(a: argparse.Namespace) -> str:
    if db.engine_of(a.db) != "postgresql":
        raise DbUsageError("perf-db reads PostgreSQL statistics; give a postgresql:// URL")
    target = postgres.parse(a.db)
    return perf.database(target, Path(a.out), snapshots=a.snapshots, interval=a.interval)


def _add_perf(top: Program) -> None:
    item = top.add("perf-db", _perf_db, "pg_stat_statements, else pg_stat_activity snapshots")
    item.add_argument("--db", required=True, type=url_arg, help=URL_HELP)
    item.add_argument("--out", required=True)
    item.add_argument("--snapshots", type=int, default=3)
    item.add_argument("--interval", type=float, default=1.0)
    item = top.add(
        "perf-endpoints",
        lambda a: perf.endpoints(a.url, Path(a.out), samples=a.samples, timeout=a.timeout),
        "time GETs of each URL; slowest first",
    )
    item.add_argument("--url", action="append", default=[])
    item.add_argument("--out", required=True)
    item.add_argument("--samples", type=int, default=5)
    item.add_argument("--timeout", type=float, default=10.0)
    item = top.add(
        "perf-host", lambda a: perf.host(Path(a.out), disk=Path(a.disk)), "load, memory, disk"
    )
    item.add_argument("--out", required=True)
    item.add_argument("--disk", default="/")
    item = top.add(
        "perf-report",
        lambda a: perf_report.report(
            Path(a.dir), Path(a.baseline), a.regression_pct, Path(a.out), run=a.run
        ),
        "compare with the baseline; write the findings report",
    )
    item.add_argument("--dir", required=True)
    item.add_argument("--baseline", required=True)
    item.add_argument("--regression-pct", type=float, default=20.0)
    item.add_argument("--out", required=True)
    item.add_argument("--run", default="")
    item = top.add(
        "perf-followup",
        lambda a: perf_report.followup(Path(a.report), a.decision, a.run),
        "record the follow-up decision; draft the ticket or change request",
    )
    item.add_argument("--report", required=True)
    item.add_argument("--decision", required=True)
    item.add_argument("--run", default="")


def _add_sysrec(top: Program) -> None:
    item = top.add(
        "sysrec-backup", lambda a: sysrec.backup(Path(a.dest)), "newest verified backup to ship"
    )
    item.add_argument("--dest", required=True)
    item = top.add(
        "sysrec-bundle",
        lambda a: sysrec.bundle(Path(a.config_dir), Path(a.out)),
        "pack the config folder and the service program",
    )
    item.add_argument("--config-dir", required=True)
    item.add_argument("--out", required=True)


def program() -> Program:
    """The program; one subcommand per action. A ``ValueError`` is bad usage (exit 2)."""
    top = Program(PROG, __doc__, errors={ValueError: EXIT_BAD_INPUT})
    _add_upkeep(top)
    _add_recover(top)
    _add_perf(top)
    _add_sysrec(top)
    return top


PROGRAM = program()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one action; return the exit status."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    sys.exit(main())
