"""Retry and wait policies as small values; `retrying.py` turns them into tenacity."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def seconds(value: float | int | str) -> float:
    """Read a duration: a number of seconds or a string such as ``"90s"``, ``"15m"``."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30, '30s', '15m', '1h')")
    return float(match.group(1)) * _UNITS[match.group(2)]


def human(duration: float) -> str:
    """Write a duration the way a runbook reader expects (``90s``, ``15m``, ``1h 30m``)."""
    if duration < 1 and duration != int(duration):
        return f"{duration * 1000:.0f}ms"
    if duration < 60:
        return f"{round(duration, 1):g}s"
    if duration < 3600:
        minutes, secs = divmod(int(duration), 60)
        return f"{minutes}m" + (f" {secs}s" if secs else "")
    hours, rest = divmod(int(duration), 3600)
    return f"{hours}h" + (f" {rest // 60}m" if rest // 60 else "")


@dataclass(frozen=True)
class Retry:
    """Re-run a failed step: ``attempts`` in all, waiting ``wait`` (times ``backoff``)."""

    attempts: int = 3
    wait: float = 2.0
    backoff: float = 1.0
    max_wait: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry.attempts must be at least 1")
        if self.wait < 0 or self.backoff < 1 or self.max_wait < 0:
            raise ValueError("Retry.wait and max_wait must be >= 0 and backoff >= 1")

    def describe(self) -> str:
        growth = f", x{self.backoff:g} each time up to {human(self.max_wait)}"
        return f"up to {self.attempts} attempts, {human(self.wait)} apart" + (
            growth if self.backoff > 1 else ""
        )


@dataclass(frozen=True)
class Poll:
    """Poll until a check holds: every ``interval`` (times ``backoff``), for ``timeout``."""

    interval: float = 5.0
    timeout: float = 300.0
    backoff: float = 1.0
    max_interval: float = 60.0

    def __post_init__(self) -> None:
        if self.interval <= 0 or self.timeout <= 0 or self.backoff < 1:
            raise ValueError("Poll.interval and timeout must be > 0 and backoff >= 1")

    def describe(self) -> str:
        growth = f", x{self.backoff:g} each time" if self.backoff > 1 else ""
        return f"every {human(self.interval)}{growth}, giving up after {human(self.timeout)}"
