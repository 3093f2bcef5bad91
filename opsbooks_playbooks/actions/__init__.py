"""Release actions shared by playbooks: importable functions, each also a command line.

Every action module has a ``main()`` run by ``python -m opsbooks_playbooks.actions.<module>``,
so a runbook step and an operator at 3 a.m. type the same command. Exit codes:
0 done, 1 a check failed or the action could not be done (one line on stderr saying
why), 2 bad usage (a bad flag, or a host or file it cannot use). This module holds
what they share: the error, semver, running a program, atomic writes and the
``program()`` each builds its command line with (the library's action harness,
``opsbooks.actions``). Importing it does no I/O.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opsbooks.errors import EXIT_BAD_INPUT, EXIT_FAILED

if TYPE_CHECKING:
    from opsbooks.actions import Program

#: Helpers the runbooks call, not runbooks: opsbooks discovery does not import them.
__runbooks__ = False

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


def no_option_arg(text: str) -> str:
    """Argparse type: a value that cannot be read as an option (no leading ``-``).

    ``git ls-remote '--upload-pack=touch pwned'`` runs the payload: a value passed on
    to another program must not start with a dash.
    """
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(f"{text!r} starts with '-', which would be an option")
    return text


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


def plain_name(name: str, what: str) -> str:
    """Return ``name`` if it is one file name inside its folder; else an ActionError.

    Names read from data (feed.json, SHA256SUMS, the environment) decide which file
    is written or deleted: ``../victim.txt`` must never reach outside the folder.
    """
    if (
        not name
        or name in (".", "..")
        or any(char in name for char in "/\\\x00")
        or name != name.strip()
    ):
        raise ActionError(f"{what} {name!r} is not a plain file name; it must stay in its folder")
    return name


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The run's state directory: ``OPSBOOKS_STATE_DIR`` (absolute; opsbooks sets it for
    every local command of a run), else ``.opsbooks`` in the current directory."""
    found = (os.environ if environ is None else environ).get("OPSBOOKS_STATE_DIR", "")
    return Path(found) if found else Path(".opsbooks")


def in_state_dir(path: Path, environ: Mapping[str, str] | None = None) -> Path:
    """``path`` itself when absolute, else that path inside the run's state directory."""
    return path if path.is_absolute() else state_dir(environ) / path


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


def program(module: str, doc: str | None) -> Program:
    """The ``python -m opsbooks_playbooks.actions.<module>`` program (``opsbooks.actions.Program``).

    An ``ActionError`` exits 1 and a ``UsageError`` 2, each as one line on stderr.
    """
    from opsbooks.actions import Program  # the CLI only, not for runbooks importing semver

    return Program(
        f"python -m opsbooks_playbooks.actions.{module}",
        doc,
        errors={ActionError: EXIT_FAILED, UsageError: EXIT_BAD_INPUT},
    )
