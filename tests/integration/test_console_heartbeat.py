"""A long, quiet step still tells the operator it is alive."""

from __future__ import annotations

import io
import time

import pytest

from opsbooks.edges.console import Console, _Heartbeats
from opsbooks.records.redaction import Redactor

pytestmark = pytest.mark.slow  # waits in real time for the heartbeat


def test_heartbeat_speaks_while_a_step_is_quiet_and_stops_after() -> None:
    out = io.StringIO()
    console = Console(out, Redactor())
    with console.heartbeat("restore", every=0.05):
        time.sleep(0.18)
    said = out.getvalue()
    assert said.count("restore still running") >= 2
    time.sleep(0.1)
    assert out.getvalue() == said, "the heartbeat must stop with the step"


def test_one_timer_serves_every_step_and_ends_when_the_run_does() -> None:
    said: list[str] = []
    beats = _Heartbeats(said.append, linger=0.2)
    timers = set()
    for index in range(50):  # fifty quick steps, one after the other
        with beats.beating(f"step_{index}", 30.0):
            timers.add(beats._thread)
    assert len(timers) == 1 and None not in timers, "one timer, not a thread per step"
    with beats.beating("slow", 0.05):
        time.sleep(0.13)
    assert said and {line.split()[1] for line in said} == {"slow"}, said
    (timer,) = timers
    assert timer is not None
    timer.join(timeout=5)
    assert not timer.is_alive(), "an idle timer ends after its linger"
    with beats.beating("again", 0.05):  # and a later heartbeat starts a new one
        time.sleep(0.2)
    assert said[-1].split()[1] == "again"
