"""The ``opsbooks`` program: the composition root that reads argv, cwd and the terminal.

Subcommands live in ``opsbooks.edges.cli.app.*``; each module's ``register`` adds its
parsers. Every ``OpsbooksError`` becomes its exit code and a message on stderr, never
a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from opsbooks.edges.cli.app import App
from opsbooks.edges.config import load_config
from opsbooks.errors import EXIT_BAD_INPUT, EXIT_STOPPED, OpsbooksError

COMMAND_MODULES = [
    "opsbooks.edges.cli.docs",
    "opsbooks.edges.cli.run",
    "opsbooks.edges.cli.records",
    "opsbooks.edges.cli.abandon",
]


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every command module's subcommands."""
    parser = argparse.ArgumentParser(
        prog="opsbooks",
        description="Executable runbooks: run them, resume them, render their docs.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="config file (opsbooks.toml or pyproject.toml); default: nearest above cwd",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program and return its exit code (0 ok, 1 failed, 2 bad input, 3 stopped)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    cwd = Path.cwd()
    try:
        config = load_config(cwd, file=args.config)
        _importable(config.root)
        app = App(config=config, out=sys.stdout, err=sys.stderr, cwd=cwd, environ=os.environ)
        code: int = args.handler(args, app)
    except OpsbooksError as exc:
        print(f"opsbooks: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("opsbooks: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the terminal went away (SIGHUP, closed ssh session)
        if exc.errno not in (errno.EIO, errno.EPIPE):
            raise
        return EXIT_STOPPED
    return code


def _importable(root: Path) -> None:
    """Put the project root first on sys.path so its runbook packages import."""
    entry = str(root)
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)


if __name__ == "__main__":
    sys.exit(main())
