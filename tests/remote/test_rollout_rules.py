"""Roll-out rules with a plain function as the per-host action: no SSH, fast."""

from __future__ import annotations

import threading
import time
from fractions import Fraction

import pytest

from opsbooks.backends.hosts.inventory import Host
from opsbooks.backends.rollout import (
    HostResult,
    RolloutOptions,
    Threshold,
    plan_batches,
    roll_out,
    tail,
)

HOSTS = [Host(name=f"h{i}", address=f"10.0.0.{i}") for i in range(1, 7)]


class Action:
    """Records which hosts it ran on and fails on the named ones."""

    def __init__(self, *failing: str, delay: float = 0.0) -> None:
        self.failing = set(failing)
        self.delay = delay
        self.ran: list[str] = []
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self, host: Host) -> HostResult:
        with self._lock:
            self.ran.append(host.name)
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(self.delay)
        with self._lock:
            self.active -= 1
        if host.name in self.failing:
            return HostResult(host.name, "failed", exit_code=1, error="exit code 1")
        return HostResult(host.name, "ok", exit_code=0)


def names(batches: list[list[Host]]) -> list[list[str]]:
    return [[h.name for h in batch] for batch in batches]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (RolloutOptions(strategy="serial"), [["h1"], ["h2"], ["h3"], ["h4"], ["h5"], ["h6"]]),
        (
            RolloutOptions(strategy="batches", batch_size=4),
            [["h1", "h2", "h3", "h4"], ["h5", "h6"]],
        ),
        (RolloutOptions(strategy="parallel"), [["h1", "h2", "h3", "h4", "h5", "h6"]]),
        (
            RolloutOptions(strategy="parallel", canary=True),
            [["h1"], ["h2", "h3", "h4", "h5", "h6"]],
        ),
        (
            RolloutOptions(strategy="batches", batch_size=2, canary=True),
            [["h1"], ["h2", "h3"], ["h4", "h5"], ["h6"]],
        ),
    ],
)
def test_plan_batches(options: RolloutOptions, expected: list[list[str]]) -> None:
    assert names(plan_batches(HOSTS, options)) == expected


@pytest.mark.parametrize(
    ("value", "total", "allowed"),
    [
        (0, 10, 0),
        (2, 10, 2),
        ("2", 3, 2),
        ("25%", 4, 1),
        ("25%", 3, 0),
        ("40%", 5, 2),
        ("100%", 3, 3),
    ],
)
def test_threshold_allowed(value: int | str, total: int, allowed: int) -> None:
    threshold = Threshold.parse(value)
    assert threshold.allowed(total) == allowed
    assert not threshold.exceeded(allowed, total)
    assert threshold.exceeded(allowed + 1, total)


def test_threshold_percent_is_exact() -> None:
    assert Threshold.parse("12.5%").percent == Fraction(25, 2)
    assert Threshold.parse("12.5%").allowed(8) == 1


@pytest.mark.parametrize("bad", [-1, "lots", "%", "-5%", True])
def test_threshold_rejects_nonsense(bad: int | str) -> None:
    with pytest.raises(ValueError, match="max_failures"):
        Threshold.parse(bad)


def test_options_reject_bad_values() -> None:
    with pytest.raises(ValueError):
        RolloutOptions(strategy="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        RolloutOptions(batch_size=0)
    with pytest.raises(ValueError):
        RolloutOptions(max_failures="half")


def test_serial_stops_once_failures_exceed_the_threshold() -> None:
    action = Action("h2", "h4")
    result = roll_out(HOSTS, action, RolloutOptions(strategy="serial", max_failures=1))
    assert action.ran == ["h1", "h2", "h3", "h4"]
    assert result.stop_reason == "threshold" and not result.ok
    assert result.failed == ["h2", "h4"]
    assert result.not_attempted == ["h5", "h6"]
    assert "2 failure(s) exceed max_failures=1" in result.summary()


def test_default_threshold_stops_at_the_first_failure() -> None:
    action = Action("h1")
    result = roll_out(HOSTS, action, RolloutOptions())
    assert action.ran == ["h1"]
    assert result.not_attempted == ["h2", "h3", "h4", "h5", "h6"]


def test_tolerated_failures_leave_the_rollout_ok() -> None:
    result = roll_out(HOSTS, Action("h3"), RolloutOptions(strategy="serial", max_failures=1))
    assert result.ok and result.failed == ["h3"]
    assert result.succeeded == ["h1", "h2", "h4", "h5", "h6"]


def test_batches_check_the_percentage_after_each_batch() -> None:
    action = Action("h2", "h3")
    options = RolloutOptions(strategy="batches", batch_size=2, max_failures="25%")
    result = roll_out(HOSTS, action, options)
    assert action.ran == ["h1", "h2", "h3", "h4"]
    assert result.stop_reason == "threshold"
    assert result.not_attempted == ["h5", "h6"]
    assert "(1 of 6 hosts)" in result.summary()


def test_canary_failure_stops_even_with_room_in_the_threshold() -> None:
    action = Action("h1")
    options = RolloutOptions(strategy="parallel", canary=True, max_failures=3)
    result = roll_out(HOSTS, action, options)
    assert action.ran == ["h1"]
    assert result.stop_reason == "canary"
    assert result.not_attempted == ["h2", "h3", "h4", "h5", "h6"]


def test_operator_can_stop_between_batches() -> None:
    seen: list[tuple[int, list[str]]] = []

    def gate(number: int, results: list[HostResult]) -> bool:
        seen.append((number, [r.host for r in results]))
        return number < 2

    options = RolloutOptions(strategy="batches", batch_size=2, canary=True)
    result = roll_out(HOSTS, Action(), options, between_batches=gate)
    assert seen == [(1, ["h1"]), (2, ["h2", "h3"])]
    assert result.stop_reason == "operator"
    assert result.succeeded == ["h1", "h2", "h3"]
    assert result.not_attempted == ["h4", "h5", "h6"]


def test_no_gate_after_the_last_batch() -> None:
    calls: list[int] = []
    options = RolloutOptions(strategy="batches", batch_size=3)
    roll_out(HOSTS, Action(), options, between_batches=lambda n, _: calls.append(n) is None)
    assert calls == [1]


def test_parallel_is_bounded_by_workers() -> None:
    action = Action(delay=0.05)
    result = roll_out(HOSTS, action, RolloutOptions(strategy="parallel", workers=2))
    assert result.ok and sorted(action.ran) == [h.name for h in HOSTS]
    assert action.peak == 2


def test_parallel_starts_no_new_host_past_the_threshold() -> None:
    action = Action("h1", "h2", delay=0.02)
    result = roll_out(HOSTS, action, RolloutOptions(strategy="parallel", workers=2))
    assert result.stop_reason == "threshold"
    assert set(action.ran) == {"h1", "h2"}
    assert result.not_attempted == ["h3", "h4", "h5", "h6"]


def test_skip_hosts_are_reported_and_not_run() -> None:
    action = Action()
    result = roll_out(HOSTS, action, RolloutOptions(), skip_hosts={"h1", "h3"})
    assert action.ran == ["h2", "h4", "h5", "h6"]
    assert result.skipped == ["h1", "h3"] and result.ok
    assert [r.host for r in result.results] == [h.name for h in HOSTS]


def test_callbacks_run_on_the_calling_thread_in_order() -> None:
    events: list[tuple[str, str, bool]] = []
    me = threading.get_ident()

    def started(host: Host) -> None:
        events.append(("start", host.name, threading.get_ident() == me))

    def finished(result: HostResult) -> None:
        events.append(("done", result.host, threading.get_ident() == me))

    roll_out(HOSTS[:2], Action(), RolloutOptions(), on_start=started, on_host=finished)
    assert events == [
        ("start", "h1", True),
        ("done", "h1", True),
        ("start", "h2", True),
        ("done", "h2", True),
    ]


def test_an_action_that_raises_fails_only_its_host() -> None:
    def explode(host: Host) -> HostResult:
        if host.name == "h2":
            raise RuntimeError("boom")
        return HostResult(host.name, "ok")

    result = roll_out(HOSTS[:3], explode, RolloutOptions(strategy="parallel", max_failures=1))
    assert result.ok and result.failed == ["h2"]
    assert result.result("h2").error == "RuntimeError: boom"


def test_result_serializes_for_the_journal() -> None:
    result = roll_out(HOSTS[:2], Action("h2"), RolloutOptions(max_failures="50%"))
    data = result.to_dict()
    assert data["ok"] is True and data["max_failures"] == "50%"
    assert [h["status"] for h in data["hosts"]] == ["ok", "failed"]


def test_tail_keeps_the_end() -> None:
    text = "\n".join(str(i) for i in range(100)) + "\n"
    assert tail(text, 3) == "97\n98\n99"


def test_a_remote_step_brings_its_own_workers() -> None:
    from opsbooks.define.remote import Remote

    step = Remote("true", role="web", strategy="parallel", workers=3)
    assert RolloutOptions.for_step(step).workers == 3
    assert RolloutOptions.for_step(step, workers=5).workers == 5
    assert RolloutOptions.for_step(Remote("true", role="web")).workers == 10
    assert step.describe_rollout().startswith("all hosts at once, at most 3 at a time")
    wide = Remote("true", role="web", strategy="batches", batch_size=20, workers=4)
    assert wide.describe_rollout().startswith("batches of 20, at most 4 at a time")


def test_zero_workers_is_a_definition_error() -> None:
    from opsbooks import Remote, Runbook
    from opsbooks.errors import DefinitionError

    with pytest.raises(DefinitionError, match="workers must be at least 1"):

        class Stalled(Runbook):
            """Could never run a host."""

            scope = "x"
            owner = "me"
            last_reviewed = "2026-11-01"
            push = Remote("true", role="web", strategy="parallel", workers=0)


def test_hosts_that_finish_while_the_last_report_is_written_are_reported_together() -> None:
    """``on_hosts`` gets every host exactly once, and those that came in while it was
    busy in one call (what lets the journal write them in one transaction)."""
    hosts = [Host(name=f"h{n}", address="127.0.0.1") for n in range(6)]
    first_reported = threading.Event()
    finished = threading.Semaphore(0)

    def attempt(host: Host) -> HostResult:
        if host.name != "h0":
            first_reported.wait(timeout=10)  # the others finish while h0 is reported
            finished.release()
        return HostResult(host.name, "ok")

    calls: list[list[str]] = []

    def on_hosts(results: list[HostResult]) -> None:
        calls.append([r.host for r in results])
        if len(calls) == 1:
            first_reported.set()
            for _ in range(5):  # hold the report until every other host has finished
                assert finished.acquire(timeout=10)

    done = roll_out(hosts, attempt, RolloutOptions("parallel", workers=6), on_hosts=on_hosts)
    assert done.ok
    assert calls[0] == ["h0"]
    assert calls[1:] == [["h1", "h2", "h3", "h4", "h5"]]  # one report, in start order
