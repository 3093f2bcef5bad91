"""The system clock, the real ``Clock`` of the run layer."""

from __future__ import annotations

import time


class SystemClock:
    """The real clock: wall time, monotonic time and sleep."""

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
