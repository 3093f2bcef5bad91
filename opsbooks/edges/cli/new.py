"""``opsbooks new CATEGORY.NAME [--from FILE.md]``: add one runbook, its drill and its page.

Without ``--from`` the module is the house template (a do-nothing runbook of three
manual steps); with it, the prose runbook is converted by the rules of
``opsbooks.edges.prose``. See ``opsbooks.edges.newbook`` for what is written when.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.cli.init import render_pages
from opsbooks.edges.newbook import prose_of, read_prose, refuse_existing, target, write
from opsbooks.edges.prose import Header
from opsbooks.errors import EXIT_OK


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "new",
        help="add a runbook (module, drill, page), from the template or a prose runbook",
    )
    parser.add_argument("name", metavar="CATEGORY.NAME", help="the new runbook, e.g. ops.restart")
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE.md",
        help="convert this Markdown runbook: headings, numbered lists, code blocks, checks",
    )
    parser.add_argument(
        "--package",
        metavar="NAME",
        help="the catalog package to add it to (default: the first configured)",
    )
    parser.add_argument(
        "--owner", default="Operations", metavar="TEAM", help="its owner (default: Operations)"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace the runbook's module and drill if they exist"
    )
    parser.set_defaults(handler=new_command)


def new_command(args: argparse.Namespace, app: App) -> int:
    """Check everything, then write the files and the page, one line a file."""
    where = target(app.config, args.name, args.package)
    text = None if args.source is None else read_prose(args.source, app.cwd)
    refuse_existing(where, app.catalog(), args.force)
    origin = args.source.name if args.source is not None else "the house template"
    known = frozenset(app.catalog().names())
    prose = prose_of(text, where, str(args.source or ""), known)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    header = Header(where.name, where.class_name, args.owner, today, origin)
    outcome = write(where, prose, header, args.force)
    _forget(f"{where.package}.{where.category}.{where.module}")
    render_pages(where.root, outcome, app)
    for line in outcome.lines:
        app.say(line)
    steps = prose.all_steps()
    commands = sum(1 for step in steps if step.is_command)
    app.say(
        f"{where.name}: {len(steps)} step(s) ({len(steps) - commands} manual, {commands} "
        f"command), {len(prose.sections)} section(s), {len(prose.verification)} "
        f"verification(s), {len(prose.troubles)} trouble entr(ies)"
    )
    app.say(
        f"next: read {where.module_path.relative_to(where.root)} (each step's comment says "
        f"why it is what it is), then `python -m pytest {where.test_relative}`, "
        f"`opsbooks lint` and `opsbooks docs --check`"
    )
    return EXIT_OK


def _forget(module: str) -> None:
    """Drop a replaced module from ``sys.modules``, so its page renders the new text."""
    sys.modules.pop(module, None)
