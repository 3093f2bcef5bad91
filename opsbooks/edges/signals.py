"""Signals: SIGINT, SIGTERM and SIGHUP stop a run at the next step boundary.

The only module that installs signal handlers; the runner sees only the two questions
it asks (``requested``, ``abandoned``).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from opsbooks.backends.local import kill_running


def _tell(text: str) -> None:
    """Write to stderr from a signal handler; after a hangup there may be no terminal."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)
        sys.stderr.flush()


class StopFlag:
    """SIGINT, SIGTERM and SIGHUP ask the runner to stop at the next step boundary."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self.abandon = False

    def requested(self) -> str | None:
        return self.signal_name

    def abandoned(self) -> bool:
        return self.abandon

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if self.signal_name == name == "SIGINT":
            self.abandon = True
            killed = kill_running()
            _tell(
                f"\nSIGINT again: abandoning the current step ({killed} command(s) killed); "
                f"resume will ask whether it completed.\n"
            )
            return
        self.signal_name = name
        _tell(
            f"\n{name} received: stopping after the current step "
            f"(press Ctrl-C again to abandon it).\n"
        )

    @contextmanager
    def installed(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {s: signal.signal(s, self._handle) for s in wanted}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
