"""The narrow protocols of the backends: local commands (``Backend``), hosts (``HostBackend``)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from opsbooks.backends.hosts.inventory import Host
    from opsbooks.backends.rollout import HostResult


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


class HostBackend(Protocol):
    """Runs commands and moves files on inventory hosts, one host per call.

    Never raises for a host problem (down, refused, bad key, non-zero exit, timeout):
    every call returns a frozen ``HostResult`` saying what happened, in words. Calls
    for different hosts may come from different threads at once. ``timeout`` is in
    seconds (``None``: the backend's default); ``env`` values reach the command's
    environment without appearing on any command line. ``become`` runs the command as
    that user (sudo); callers pass it only when set, so older backends keep working.
    """

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float | None = None,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        become: str | None = None,
    ) -> HostResult: ...

    def put(self, host: Host, local: str | Path, remote: str) -> HostResult: ...

    def get(self, host: Host, remote: str, local: str | Path) -> HostResult: ...

    def probe(self, host: Host) -> HostResult:
        """Whether ``host`` can be reached and logged in to, within the connect timeout."""
        ...

    def session(self, host: Host) -> AbstractContextManager[None]:
        """Keep one connection to ``host`` for this thread's calls inside the block."""
        ...
