"""What an operator asks for (a run, a resume) and the process around it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from opsbooks.backends.protocols import Backend, HostBackend
from opsbooks.records.events import Observer
from opsbooks.run.execute import Executor
from opsbooks.run.options import RunOptions
from opsbooks.run.protocols import Clock


@dataclass(frozen=True)
class Invocation:
    """What the operator asked for, before any of it is trusted."""

    runbook: str
    params: Mapping[str, Any] = field(default_factory=dict)
    options: RunOptions = field(default_factory=RunOptions)


@dataclass(frozen=True)
class ResumeRequest:
    """Resume ``run_id`` (a unique prefix will do) with these options."""

    run_id: str
    options: RunOptions = field(default_factory=RunOptions)


@dataclass
class Surroundings:
    """The process's streams, environment and effects, read only by composition roots."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    interactive: bool | None = None
    backend: Backend | None = None
    #: hosts reached through this instead of SSH (a drill's or a test's ``FakeHosts``)
    hosts: HostBackend | None = None
    scripted: Mapping[str, Any] | None = None
    #: stamps records and measures durations (the system clock unless given)
    clock: Clock | None = None
    #: drives polls, retries and their sleeps (a drill's fake clock)
    waits: Clock | None = None
    observers: tuple[Observer, ...] = ()
    install_signal_handlers: bool = True
    extras: dict[str, Any] = field(default_factory=dict)
    #: wraps the step executor (drills inject failures with ``opsbooks.testing``)
    intercept: Callable[[Executor], Executor] | None = None

    def is_interactive(self) -> bool:
        if self.interactive is not None:
            return self.interactive
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False
