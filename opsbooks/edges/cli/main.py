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

from opsbooks.errors import EXIT_BAD_INPUT, EXIT_STOPPED, OpsbooksError

COMMAND_MODULES = [
    "opsbooks.edges.cli.docs",
    "opsbooks.edges.cli.run",
    "opsbooks.edges.cli.records",
    "opsbooks.edges.cli.abandon",
    "opsbooks.edges.cli.lint",
    "opsbooks.edges.cli.stats",
    "opsbooks.edges.cli.review",
    "opsbooks.edges.cli.approve",
    "opsbooks.edges.cli.evidence",
    "opsbooks.edges.cli.completion",
    "opsbooks.edges.cli.init",
]


#: The module that registers each command, so a command imports only its own module:
#: ``opsbooks list`` then loads neither the runner, SSH, nor the review tooling (bench
#: row 3). A command missing here still works, with every module imported as before;
#: ``tests/bench/test_lazy_cli.py`` checks the table against the modules.
COMMAND_OWNERS = {
    "list": "opsbooks.edges.cli.docs",
    "show": "opsbooks.edges.cli.docs",
    "docs": "opsbooks.edges.cli.docs",
    "run": "opsbooks.edges.cli.run",
    "resume": "opsbooks.edges.cli.run",
    "history": "opsbooks.edges.cli.records",
    "report": "opsbooks.edges.cli.records",
    "audit": "opsbooks.edges.cli.records",
    "abandon": "opsbooks.edges.cli.abandon",
    "lint": "opsbooks.edges.cli.lint",
    "stats": "opsbooks.edges.cli.stats",
    "review": "opsbooks.edges.cli.review",
    "approve": "opsbooks.edges.cli.approve",
    "deny": "opsbooks.edges.cli.approve",
    "evidence": "opsbooks.edges.cli.evidence",
    "completion": "opsbooks.edges.cli.completion",
    "__complete": "opsbooks.edges.cli.completion",
    "init": "opsbooks.edges.cli.init",
}


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (after ``--config PATH``), or None (``--help``, none)."""
    words = iter(argv)
    for word in words:
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return word
        elif not word.startswith("--config="):
            return None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the parser: ``command``'s module only when it is known, else every module."""
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
    parser.add_argument(
        "-V", "--version", action="version", version=f"opsbooks {version()}", help="print it"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    owner = COMMAND_OWNERS.get(command or "")
    for module_name in [owner] if owner else COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the program and return its exit code (0 ok, 1 failed, 2 bad input, 3 stopped)."""
    _reopen_closed_stdio()
    words = sys.argv[1:] if argv is None else argv
    if wants_version(words):  # before any parser: no catalog, config or runner imported
        print(f"opsbooks {version()}")
        return 0
    parser = build_parser(command_of(words))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    from opsbooks.edges.cli.app import App  # kept off the --version path
    from opsbooks.edges.config import load_config

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
    except OSError as exc:
        if exc.errno in (errno.EIO, errno.EPIPE):  # the terminal went away (SIGHUP, ssh)
            return EXIT_STOPPED
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"opsbooks: the operating system refused: {exc.strerror or exc}{where}. Fix the "
            f"cause (disk space, permissions, limits), then run the command again; a run "
            f"it stopped resumes with `opsbooks resume` (`opsbooks history` lists it).",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    return code


def wants_version(argv: Sequence[str]) -> bool:
    """Whether ``-V``/``--version`` comes before the command word (after ``--config PATH``)."""
    words = iter(argv)
    for word in words:
        if word in ("-V", "--version"):
            return True
        if word == "--config":
            next(words, None)
        elif not word.startswith("-"):
            return False
    return False


def version() -> str:
    """The installed distribution's version, else the one in the source tree's pyproject."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("opsbooks")
    except PackageNotFoundError:
        return source_version(Path(__file__).resolve().parents[3] / "pyproject.toml")


def source_version(pyproject: Path) -> str:
    """``[project] version`` of ``pyproject``, or ``unknown`` when it cannot be read."""
    import tomllib

    try:
        with pyproject.open("rb") as handle:
            found = tomllib.load(handle).get("project", {}).get("version")
    except (OSError, tomllib.TOMLDecodeError):
        return "unknown"
    return found if isinstance(found, str) else "unknown"


def _importable(root: Path) -> None:
    """Put the project root first on sys.path so its runbook packages import."""
    entry = str(root)
    if entry in sys.path:
        sys.path.remove(entry)
    sys.path.insert(0, entry)


def _reopen_closed_stdio() -> None:
    """Point a closed stdin, stdout or stderr (``opsbooks run >&-``) at ``/dev/null``.

    Python then has ``sys.stdout = None`` and every print raises; worse, the first file
    opsbooks or a step's command opens would get descriptor 1, and output meant for
    the terminal would land in the journal or an audit file.
    """
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            mode = "r" if fd == 0 else "w"
            # it is sys.stdout (or stdin, stderr) for the process's life: no `with`
            stream = open(fd, mode, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
            setattr(sys, name, stream)


if __name__ == "__main__":
    sys.exit(main())
