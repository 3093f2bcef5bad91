"""``opsbooks abandon RUN --reason TEXT``: close a stopped or crashed run for good."""

from __future__ import annotations

import argparse
import time

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.identity import LocalIdentity
from opsbooks.edges.operator import approver
from opsbooks.edges.resuming import abandon
from opsbooks.edges.session import journal_url
from opsbooks.records.journal import open_journal


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "abandon",
        help="close a stopped, failed or crashed run for good (journaled; never resumed)",
    )
    parser.add_argument("run_id", help="run id (or a unique prefix) from `opsbooks history`")
    parser.add_argument("--reason", required=True, help="why; recorded with your name")
    parser.add_argument(
        "--host-gone",
        action="store_true",
        help="the run holds its lock from another host that is gone for good",
    )
    parser.set_defaults(handler=abandon_command)


def abandon_command(args: argparse.Namespace, app: App) -> int:
    identity = LocalIdentity()
    journal = open_journal(journal_url(app.config), identity=identity)
    try:
        record = abandon(
            journal,
            args.run_id,
            reason=args.reason,
            who=approver(app.environ),
            at=time.time(),
            identity=identity,
            host_gone=args.host_gone,
        )
    finally:
        journal.close()
    app.say(f"run {record.id} of {record.runbook} abandoned: {record.reason}")
    return 0
