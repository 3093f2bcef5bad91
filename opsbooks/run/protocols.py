"""The effects the run layer uses, each a narrow protocol injected by the composition root.

``edges.session`` builds the real ones (the console, the notify channels, the system
clock); ``opsbooks.testing`` ships fakes of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Protocol


class Output(Protocol):
    """Where a run's progress and its commands' output go (the console, redacted)."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...

    def say(self, text: str) -> None: ...

    def heartbeat(self, label: str, every: float = 30.0) -> AbstractContextManager[None]: ...


class Notifier(Protocol):
    """Delivers a ``Notify`` step's message; returns where it went.

    Raises ``opsbooks.backends.notify.DeliveryFailed`` when the channel does not take
    it, or no channel of that name is configured.
    """

    def send(self, channel: str, message: str, meta: Mapping[str, str]) -> str: ...


class Clock(Protocol):
    """Wall time for records, monotonic time and sleep for polls, retries and durations."""

    def wall(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...
