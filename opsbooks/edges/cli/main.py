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
from typing import Any

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
    "opsbooks.edges.cli.new",
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
    "new": "opsbooks.edges.cli.new",
}


#: Each command's help line as its module registers it, in that order, so ``opsbooks
#: --help`` imports no command module (they load pydantic, structlog, invoke, SSH);
#: ``tests/bench/test_lazy_cli.py`` checks the table against the modules.
COMMAND_HELP = {
    "list": "list the runbooks in the catalog",
    "show": "print a runbook's rendered page",
    "docs": "write the runbook pages, or check them for drift",
    "run": "run a runbook (`opsbooks run NAME --help` lists its parameters)",
    "resume": "continue a failed, stopped or crashed run",
    "history": "list runs, newest first",
    "report": "render one run as Markdown or JSON",
    "audit": "check a run's audit trail",
    "abandon": "close a stopped, failed or crashed run for good (journaled; never resumed)",
    "lint": "check every runbook: sections, reviews, drills, gates, undo, argv",
    "stats": "runs, success and escalation rates, durations, MTTR, drills, usage",
    "review": "record a review: set last_reviewed and add a change log entry",
    "approve": "sign and record an approval of a gate a run waits at",
    "deny": "sign and record a denial: the waiting run stops",
    "evidence": (
        "write a compliance evidence bundle for an auditor (`evidence verify DIR` checks one)"
    ),
    "completion": "print a shell completion script (bash, zsh or fish)",
    "init": "set up this git repository: config, example runbook, tasks.py, drill, CI",
    "new": "add a runbook (module, drill, page), from the template or a prose runbook",
}


#: Commands that may answer from the catalog index without validating the configuration:
#: the index is used only under the table it was built (and validated) under, and
#: anything else they do validates it first (``App.config``, ``catalog_index``).
INDEXED_COMMANDS = frozenset({"list", "__complete"})


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


class _LazyVersion(argparse._VersionAction):
    """``-V``: the version is looked up when asked, not for every parser built: the
    lookup imports ``importlib.metadata`` (about 20 ms, more than a warm listing)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        self.version = f"opsbooks {version()}"
        super().__call__(parser, namespace, values, option_string)


def build_parser(command: str | None = None, *, help_only: bool = False) -> argparse.ArgumentParser:
    """Build the parser: ``command``'s module only when it is known, else every module.

    ``help_only`` (no command word, ``-h`` given): the commands from ``COMMAND_HELP``,
    for ``opsbooks --help`` to print; none of them can run from that parser.
    """
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
    parser.add_argument("-V", "--version", action=_LazyVersion, help="print it")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if help_only and command is None:
        for name, text in COMMAND_HELP.items():
            subparsers.add_parser(name, help=text)
        return parser
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
    asks_help = not words or any(word in ("-h", "--help") for word in words)
    parser = build_parser(command_of(words), help_only=asks_help)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    from opsbooks.edges.cli.app import App  # kept off the --version path
    from opsbooks.edges.config_source import config_source

    cwd = Path.cwd()
    try:
        source = config_source(cwd, file=args.config)
        _importable(source.root)
        app = App(source=source, out=sys.stdout, err=sys.stderr, cwd=cwd, environ=os.environ)
        if args.command not in INDEXED_COMMANDS:
            app.config  # noqa: B018  validated before the command, as always
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
