"""The one narrow protocol every backend implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class CommandSpec:
    """A bound command ready to run. ``shown`` is the redacted form for people and logs."""

    command: str
    shown: str
    timeout: float | None = None
    cwd: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: str | None = None


@dataclass(frozen=True)
class CommandResult:
    """What a command did: its exit code, output, and whether its timeout killed it."""

    exit_code: int
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def tail(self, lines: int = 20) -> str:
        """The last lines of output, stderr after stdout, for journals and errors."""
        text = (self.stdout.rstrip("\n") + "\n" + self.stderr.rstrip("\n")).strip("\n")
        return "\n".join(text.splitlines()[-lines:])


class Writer(Protocol):
    """Where live output goes: the console, a buffer, or nowhere."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class Backend(Protocol):
    """Runs one command and reports; never raises for a non-zero exit."""

    def run(self, spec: CommandSpec, *, out: Writer | None = None) -> CommandResult: ...
