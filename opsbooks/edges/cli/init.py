"""``opsbooks init``: set up the git repository around cwd for runbooks.

Writes the configuration, a catalog package with one example runbook, a ``tasks.py``
for invoke, a drill in ``tests/``, a CI workflow, and the generated pages; see
``opsbooks.edges.scaffold`` for what is written when.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.edges.config import load_config
from opsbooks.edges.discovery import discover
from opsbooks.edges.scaffold import Outcome, check_package, git_root, scaffold
from opsbooks.errors import EXIT_OK
from opsbooks.render.catalog import render_catalog, write_docs

NEXT_STEPS = """next steps:
  opsbooks list                      # the catalog: {package}.ops.clean_logs is the example
  opsbooks run ops.clean_logs --help # its parameters; `--dry-run` shows every command
  python -m pytest tests/test_runbooks.py   # the drill runs it for real
  invoke --list                      # the same runbooks as invoke tasks
  edit the contacts in the configuration, copy the example for your own runbooks,
  then `opsbooks lint` and `opsbooks docs` before each commit (CI checks both)"""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "init",
        help="set up this git repository: config, example runbook, tasks.py, drill, CI",
    )
    parser.add_argument(
        "--package",
        default="runbooks",
        metavar="NAME",
        help="the catalog package to create (default: runbooks)",
    )
    parser.add_argument(
        "--opsbooks-toml",
        action="store_true",
        help="write an opsbooks.toml even when there is a pyproject.toml",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace files opsbooks init writes when they differ (never pyproject or tasks.py)",
    )
    parser.set_defaults(handler=init_command)


def init_command(args: argparse.Namespace, app: App) -> int:
    """Scaffold the project, render its pages, and say what happened, one line a file."""
    package = check_package(args.package)
    root = git_root(app.cwd)
    outcome = scaffold(root, package, force=args.force, own_file=args.opsbooks_toml)
    render_pages(root, outcome, app)
    for line in outcome.lines:
        app.say(line)
    for advice in outcome.advice:
        app.say(f"note: {advice}")
    if outcome.changed:
        app.say(f"{outcome.changed} file(s) written in {root}")
    else:
        app.say(f"nothing changed: {root} is already set up")
    app.say(NEXT_STEPS.format(package=package))
    return EXIT_OK


def render_pages(root: Path, outcome: Outcome, app: App) -> None:
    """``opsbooks docs`` for the project as it is now configured."""
    config = load_config(root)
    entry = str(config.root)
    if entry not in sys.path:
        sys.path.insert(0, entry)
    importlib.invalidate_caches()
    catalog = discover(config.packages, config.exclude)
    warning = catalog.warning()
    if warning:
        print(f"opsbooks: {warning}", file=app.err)
    docs_dir = config.path(config.docs_dir)
    result = write_docs(docs_dir, render_catalog(catalog, config.contacts))
    for relative in result.written:
        outcome.note("wrote", docs_dir / relative, "generated page")
    for relative in result.removed:
        outcome.note("removed", docs_dir / relative, "no runbook produces it")
    if result.unchanged:
        outcome.note("unchanged", docs_dir, f"{result.unchanged} generated page(s)")
