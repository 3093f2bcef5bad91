"""What the operator's live screen shows, as a pure model: events and output in, a view out.

The rich renderer (``edges.console_live``) draws a :class:`View` and nothing else, so
everything the screen says (which step, for how long, its last lines, how far a
roll-out got) is decided here and tested without a terminal, a thread or a clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from opsbooks.define.specs import RemoteSpec
from opsbooks.plan.binding import Plan
from opsbooks.records.events import (
    Event,
    HostFinished,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)

#: how many of the running command's last output lines the screen shows
TAIL_LINES = 5


@dataclass(frozen=True)
class Target:
    """Where a remote step rolls out: how many hosts, how many at a time."""

    hosts: int
    batch: int = 1


@dataclass(frozen=True)
class View:
    """One frame of the live screen while a step runs."""

    step: str  #: "[2/4] wait: Wait for the cache (command)"
    command: str | None
    elapsed: float
    tail: tuple[str, ...]
    steps_done: int
    steps_total: int
    hosts_ok: int = 0
    hosts_failed: int = 0
    hosts_total: int = 0
    batch: tuple[int, int] | None = None  #: (this batch, of how many) for a roll-out

    @property
    def hosts_line(self) -> str:
        """``hosts: 3 ok, 1 failed of 6 (batch 2 of 3)``; empty for a local step."""
        if not self.hosts_total:
            return ""
        failed = f", {self.hosts_failed} failed" if self.hosts_failed else ""
        batch = f" (batch {self.batch[0]} of {self.batch[1]})" if self.batch else ""
        return f"hosts: {self.hosts_ok} ok{failed} of {self.hosts_total}{batch}"


class ScreenModel:
    """Folds the run's events and its command output into what the screen shows.

    Strings come in already redacted (the console redacts before it feeds the model).
    ``now`` is passed in by the caller, so a test decides what time it is.
    """

    def __init__(self, targets: Mapping[str, Target] | None = None) -> None:
        self._targets = dict(targets or {})
        self._total = 0
        self._finished: set[str] = set()
        self._step: StepStarted | None = None
        self._label = ""
        self._command: str | None = None
        self._started = 0.0
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._partial = ""
        self._ok = 0
        self._failed = 0

    def feed(
        self, event: Event, now: float, *, label: str = "", command: str | None = None
    ) -> None:
        """Take one event; ``label`` and ``command`` are the step's redacted header parts."""
        if isinstance(event, RunStarted):
            self._total = event.steps
        elif isinstance(event, StepStarted) and event.index > 0:
            self._step, self._started = event, now
            self._label = label or f"[{event.index}/{event.total}] {event.step}: {event.title}"
            self._command = command
            self._total = max(self._total, event.total)
            self._tail.clear()
            self._partial = ""
            self._ok = self._failed = 0
        elif isinstance(event, HostFinished):
            if event.ok:
                self._ok += 1
            else:
                self._failed += 1
        elif isinstance(event, StepFinished):
            self._finished.add(event.step)
            if self._step is not None and event.step == self._step.step:
                self._step = None
        elif isinstance(event, RunFinished):
            self._step = None

    def output(self, text: str) -> None:
        """Take a chunk of the running command's output (it may end mid-line)."""
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        self._tail.extend(line.rstrip() for line in lines if line.strip())

    def view(self, now: float) -> View | None:
        """The frame to draw at ``now``, or None when no step is running."""
        step = self._step
        if step is None:
            return None
        tail = list(self._tail)
        if self._partial.strip():
            tail = [*tail, self._partial.rstrip()][-TAIL_LINES:]
        target = self._targets.get(step.step)
        total = target.hosts if target else 0
        batch = None
        if target and target.batch < target.hosts:
            count = -(-target.hosts // target.batch)
            done = self._ok + self._failed
            batch = (min(done // target.batch + 1, count), count)
        return View(
            step=self._label,
            command=self._command,
            elapsed=max(0.0, now - self._started),
            tail=tuple(tail),
            steps_done=min(len(self._finished), self._total),
            steps_total=self._total,
            hosts_ok=self._ok,
            hosts_failed=self._failed,
            hosts_total=total,
            batch=batch,
        )


def clock_face(seconds: float) -> str:
    """Elapsed time as the spinner line shows it: ``7.2s``, ``3:05``, ``1:02:09``."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def targets_of(bound: Plan, resolved: Mapping[str, list[str]]) -> dict[str, Target]:
    """Each remote step's host count and batch size, from the preflight's resolution
    (``preflight_hosts``: each role, or hosts list, to its host names).

    ``serial`` goes one host at a time, ``parallel`` all at once, ``batches`` by its
    ``batch_size``; a named roll-out from the config is shown as the step declares it.
    """
    found: dict[str, Target] = {}
    for planned in bound.all_steps():
        spec = planned.spec
        if not isinstance(spec, RemoteSpec):
            continue
        hosts = len(resolved.get(spec.hosts or spec.role, ()))  # keyed as preflight keys
        if not hosts:
            continue
        size = {"serial": 1, "parallel": hosts}.get(spec.strategy, spec.batch_size)
        found[planned.id] = Target(hosts, max(1, min(size, hosts)))
    return found
