"""Retry and poll decisions, with the clock and sleep injected: nothing really waits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from opsbooks.define.policies import Poll, Retry
from opsbooks.run.retrying import Attempted, poll_until, retry_until_ok
from opsbooks.testing import FakeClock


@dataclass
class Script:
    """An attempt function: returns ``results`` in turn, each taking ``takes`` seconds."""

    clock: FakeClock
    results: list[str]
    takes: float = 0.0
    calls: list[tuple[int, float]] = field(default_factory=list)

    def __call__(self, number: int) -> str:
        self.calls.append((number, self.clock()))
        self.clock.advance(self.takes)
        return self.results[min(number, len(self.results)) - 1]


Record = tuple[int, str, float]


def recorder() -> tuple[list[Record], Callable[[int, str, float], None]]:
    seen: list[Record] = []
    return seen, lambda number, value, wait: seen.append((number, value, wait))


def is_ok(value: str) -> bool:
    return value == "ok"


def retry(script: Script, policy: Retry | None) -> tuple[Attempted[str], list[Record]]:
    seen, on_retry = recorder()
    clock = script.clock
    outcome = retry_until_ok(
        script, is_ok, policy, sleep=clock.sleep, clock=clock, on_retry=on_retry
    )
    return outcome, seen


def poll(script: Script, policy: Poll) -> tuple[Attempted[str], list[Record]]:
    seen, on_attempt = recorder()
    clock = script.clock
    outcome = poll_until(
        script, is_ok, policy, sleep=clock.sleep, clock=clock, on_attempt=on_attempt
    )
    return outcome, seen


# retry_until_ok


def test_without_a_policy_there_is_one_attempt_and_no_sleep() -> None:
    clock = FakeClock()
    outcome, seen = retry(Script(clock, ["exit 1"]), None)
    assert outcome == Attempted(value="exit 1", attempts=1, elapsed=0.0)
    assert (seen, clock.sleeps) == ([], [])


def test_a_first_success_is_returned_at_once() -> None:
    clock = FakeClock()
    outcome, seen = retry(Script(clock, ["ok"]), Retry(attempts=3, wait=2))
    assert (outcome.value, outcome.attempts, seen, clock.sleeps) == ("ok", 1, [], [])


def test_a_retry_stops_at_the_first_success_and_records_each_failed_attempt() -> None:
    clock = FakeClock()
    script = Script(clock, ["exit 1", "exit 2", "ok", "never reached"])
    outcome, seen = retry(script, Retry(attempts=5, wait=2))
    assert outcome == Attempted(value="ok", attempts=3, elapsed=4.0)
    assert seen == [(1, "exit 1", 2.0), (2, "exit 2", 2.0)]
    assert script.calls == [(1, 0.0), (2, 2.0), (3, 4.0)]
    assert clock.sleeps == [2.0, 2.0]


def test_when_attempts_run_out_the_last_result_is_returned_not_raised() -> None:
    clock = FakeClock()
    outcome, seen = retry(Script(clock, ["a", "b", "c"]), Retry(attempts=3, wait=1))
    assert (outcome.value, outcome.attempts) == ("c", 3)
    assert [number for number, _, _ in seen] == [1, 2]  # no wait announced after the last
    assert clock.sleeps == [1.0, 1.0]


def test_backoff_multiplies_the_wait_up_to_its_cap() -> None:
    clock = FakeClock()
    outcome, seen = retry(Script(clock, ["no"]), Retry(attempts=6, wait=1, backoff=2, max_wait=5))
    assert outcome.attempts == 6
    assert clock.sleeps == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert [wait for _, _, wait in seen] == clock.sleeps


def test_a_max_wait_of_zero_means_no_cap() -> None:
    clock = FakeClock()
    retry(Script(clock, ["no"]), Retry(attempts=4, wait=1, backoff=3, max_wait=0))
    assert clock.sleeps == [1.0, 3.0, 9.0]


def test_elapsed_counts_the_attempts_and_the_waits_on_the_injected_clock() -> None:
    clock = FakeClock(start=1_000.0)
    script = Script(clock, ["no", "ok"], takes=1.5)
    outcome, _ = retry(script, Retry(attempts=2, wait=3))
    assert outcome.elapsed == 1.5 + 3.0 + 1.5
    assert script.calls == [(1, 1_000.0), (2, 1_004.5)]


def test_a_retry_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="attempts must be at least 1"):
        Retry(attempts=0)
    with pytest.raises(ValueError, match="backoff >= 1"):
        Retry(backoff=0.5)


# poll_until


def test_a_poll_stops_before_a_sleep_would_pass_the_deadline() -> None:
    clock = FakeClock()
    script = Script(clock, ["not yet"])
    outcome, seen = poll(script, Poll(interval=5, timeout=20))
    assert [at for _, at in script.calls] == [0.0, 5.0, 10.0, 15.0]
    assert outcome == Attempted(value="not yet", attempts=4, elapsed=15.0)
    assert clock.sleeps == [5.0, 5.0, 5.0]
    assert clock() <= 20.0
    assert seen == [(1, "not yet", 5.0), (2, "not yet", 5.0), (3, "not yet", 5.0)]


def test_a_poll_returns_as_soon_as_the_check_holds() -> None:
    clock = FakeClock()
    outcome, seen = poll(Script(clock, ["no", "no", "ok"]), Poll(interval=5, timeout=300))
    assert outcome == Attempted(value="ok", attempts=3, elapsed=10.0)
    assert len(seen) == 2


def test_the_time_a_check_takes_counts_against_the_deadline() -> None:
    clock = FakeClock()
    script = Script(clock, ["no"], takes=3.0)
    outcome, _ = poll(script, Poll(interval=5, timeout=20))
    assert [at for _, at in script.calls] == [0.0, 8.0, 16.0]
    assert (outcome.attempts, outcome.elapsed) == (3, 19.0)


def test_the_deadline_runs_from_the_start_of_the_poll_not_from_zero() -> None:
    clock = FakeClock(start=50_000.0)
    outcome, _ = poll(Script(clock, ["no"]), Poll(interval=5, timeout=20))
    assert (outcome.attempts, outcome.elapsed) == (4, 15.0)


def test_a_timeout_shorter_than_the_interval_checks_once() -> None:
    clock = FakeClock()
    outcome, seen = poll(Script(clock, ["no"]), Poll(interval=10, timeout=5))
    assert (outcome.attempts, seen, clock.sleeps) == (1, [], [])


def test_poll_backoff_grows_the_interval_up_to_its_cap_within_the_timeout() -> None:
    clock = FakeClock()
    outcome, _ = poll(
        Script(clock, ["no"]), Poll(interval=1, timeout=100, backoff=2, max_interval=10)
    )
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, *[10.0] * 8]
    assert (outcome.attempts, outcome.elapsed) == (13, 95.0)


def test_a_poll_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        Poll(interval=0)
    with pytest.raises(ValueError, match="must be > 0"):
        Poll(timeout=-1)
