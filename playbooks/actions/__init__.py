"""Release actions shared by playbooks: importable functions, each also a command line.

Every action module has a ``main()`` run by ``python -m playbooks.actions.<module>``,
so a runbook step and an operator at 3 a.m. type the same command. Exit codes:
0 done, 1 a check failed or the action could not be done (one line on stderr saying
why), 2 bad usage (a bad flag, or a host or file it cannot use). This module holds
what they share: the error, semver, running a program, atomic writes and the CLI
harness. Importing it does no I/O.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEMVER = (
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?"
)
SEMVER_PATTERN = f"^{SEMVER}$"
_SEMVER = re.compile(SEMVER_PATTERN)


class ActionError(Exception):
    """A check failed or an action could not be carried out; the message says what to do."""


class UsageError(ActionError):
    """The command was given something it cannot use (exit 2, like a bad flag)."""


@dataclass(frozen=True)
class Version:
    """A semantic version; ordered by semver precedence, build metadata ignored."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()
    text: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _SEMVER.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a semantic version like 1.4.0 or 2.0.0-rc.1")
        major, minor, patch, pre = match.groups()
        return cls(int(major), int(minor), int(patch), tuple(pre.split(".")) if pre else (), text)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, ids)

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __le__(self, other: Version) -> bool:
        return self._key() <= other._key()

    def __gt__(self, other: Version) -> bool:
        return self._key() > other._key()

    def __ge__(self, other: Version) -> bool:
        return self._key() >= other._key()

    def __str__(self) -> str:
        return self.text or f"{self.major}.{self.minor}.{self.patch}"


def version_arg(text: str) -> str:
    """Argparse type: a semver string, else a usage error (exit 2)."""
    try:
        Version.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def optional_version_arg(text: str) -> str:
    """Argparse type: a semver string, or empty meaning "choose for me"."""
    return "" if not text.strip() else version_arg(text)


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """Run a program (argv, never a shell) and return its stdout; failure is an ActionError."""
    merged = None if env is None else {**os.environ, **env}
    try:
        proc = subprocess.run(
            list(argv), cwd=cwd, env=merged, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise ActionError(f"{argv[0]} is not installed or not on PATH") from None
    if proc.returncode != 0:
        lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
        last = lines[-1] if lines else "no output"
        raise ActionError(f"`{shlex.join(argv)}` exited {proc.returncode}: {last}")
    return proc.stdout


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so a reader sees the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


Handler = Callable[[argparse.Namespace], str]


def command_line(prog: str, doc: str | None) -> tuple[argparse.ArgumentParser, _Subcommands]:
    """Make the parser of ``python -m playbooks.actions.<prog>`` and its subcommand table."""
    summary = _first_line(doc)
    parser = argparse.ArgumentParser(
        prog=f"python -m playbooks.actions.{prog}", description=summary
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="COMMAND")
    return parser, _Subcommands(sub)


def _first_line(doc: str | None) -> str:
    """The summary line of a docstring, without reST markup, for ``--help``."""
    return doc.strip().splitlines()[0].replace("``", "") if doc and doc.strip() else ""


class _Subcommands:
    """Adds subcommands; the first line of ``doc`` (the function's docstring) is their help."""

    def __init__(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        self._sub = sub

    def add(self, name: str, handler: Handler, doc: str | None) -> argparse.ArgumentParser:
        text = _first_line(doc)
        parser = self._sub.add_parser(name, help=text, description=text)
        parser.set_defaults(handler=handler)
        return parser


def execute(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse ``argv``, run the chosen handler, print its report; map failure to exit 1."""
    args = parser.parse_args(argv)
    try:
        report = args.handler(args)
    except UsageError as exc:
        print(f"{args.action}: {exc}", file=sys.stderr)
        return 2
    except ActionError as exc:
        print(f"{args.action}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.action}: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1
    if report:
        print(report)
    return 0
