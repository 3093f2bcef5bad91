"""``opsbooks sandbox init``: a local release sandbox for the shipped release playbooks."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from opsbooks.edges.cli.app import App, Subparsers
from opsbooks.errors import BadInput


def register(subparsers: Subparsers) -> None:
    sandbox = subparsers.add_parser("sandbox", help="a local sandbox for the release playbooks")
    actions = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="create a bare git origin, a demo app, a feed folder and SQLite, "
        "with the configuration that points the release runbooks at them",
    )
    init.add_argument(
        "dir",
        nargs="?",
        type=Path,
        default=Path(".opsbooks/sandbox"),
        help="where to create it (default: .opsbooks/sandbox)",
    )
    init.set_defaults(handler=init_command)


def init_command(args: argparse.Namespace, app: App) -> int:
    try:
        sandbox = importlib.import_module("playbooks.actions.sandbox")
    except ImportError:
        raise BadInput(
            "the sandbox comes with the shipped catalog (package `playbooks`), which is not "
            "importable here; install opsbooks with its catalog"
        ) from None
    target = args.dir if args.dir.is_absolute() else app.cwd / args.dir
    if target.exists() and any(target.iterdir()):
        raise BadInput(f"{target} exists and is not empty; remove it or choose another dir")
    sandbox.create(target)
    app.say(f"sandbox ready in {target}")
    app.say(f"  cd {target} && opsbooks run release.deploy --version 1.1.0 --dry-run")
    app.say(f"  (first: python -m playbooks.actions.sandbox bump {target} --version 1.1.0)")
    return 0
