"""Fast tests with fakes of opsbooks' own protocols: a FakeBackend, a fake clock, prompters."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbooks import Command, Poll, Retry, Runbook, WaitUntil
from opsbooks.backends.protocols import CommandResult, CommandSpec, Writer
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.plan.binding import plan
from opsbooks.records.events import AttemptFailed, Event
from opsbooks.run.execute import StepEnv, execute
from opsbooks.run.gates import (
    GateRequest,
    NoAnswer,
    ScriptedPrompter,
    TerminalPrompter,
    YesPrompter,
    coerce,
)
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState
from opsbooks.testing import FakeClock
from opsbooks.testing.fakes import FakeBackend, fake_env


class Polls(Runbook):
    """A wait and a flaky command."""

    name = "unit.polls"
    scope = "unit tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    ready = WaitUntil("test -e ready", poll=Poll(interval=10, timeout=25))
    flaky = Command("flaky", retry=Retry(attempts=3, wait=5, backoff=2))


def _env(tmp_path: Path, backend: FakeBackend, clock: FakeClock, events: list[Event]) -> StepEnv:
    return fake_env(
        plan(Polls, Polls.Params()), backend=backend, clock=clock, events=events, workdir=tmp_path
    )


def _run(env: StepEnv, step_id: str) -> StepResult:
    return execute(env.plan.get(step_id), env, RunState("r1"))


def test_wait_until_honours_its_deadline_without_sleeping(tmp_path: Path) -> None:
    clock, events = FakeClock(), []
    backend = FakeBackend([], clock, default=1)
    env = _env(tmp_path, backend, clock, events)
    started = time.monotonic()
    result = _run(env, "ready")
    assert time.monotonic() - started < 1
    assert not result.ok and result.attempts == 3
    assert [at for _, at in backend.calls] == [0, 10, 20]
    assert clock.sleeps == [10, 10]
    assert "after 3 checks" in result.reason
    assert [e.attempt for e in events if isinstance(e, AttemptFailed)] == [1, 2]


def test_wait_until_stops_polling_once_the_check_holds(tmp_path: Path) -> None:
    clock, events = FakeClock(), []
    backend = FakeBackend([1, 0], clock)
    env = _env(tmp_path, backend, clock, events)
    result = _run(env, "ready")
    assert result.ok and result.attempts == 2 and clock.sleeps == [10]


def test_retry_backs_off_and_records_attempts(tmp_path: Path) -> None:
    clock, events = FakeClock(), []
    backend = FakeBackend([1, 1, 0], clock)
    env = _env(tmp_path, backend, clock, events)
    result = _run(env, "flaky")
    assert result.ok and result.attempts == 3
    assert clock.sleeps == [5, 10]


def test_retry_gives_up_after_its_attempts(tmp_path: Path) -> None:
    clock, events = FakeClock(), []
    backend = FakeBackend([1, 1, 1, 0], clock)
    env = _env(tmp_path, backend, clock, events)
    result = _run(env, "flaky")
    assert not result.ok and result.attempts == 3 and len(backend.calls) == 3
    assert "exit code 1" in result.reason


def test_surroundings_inject_sleep_and_clock_into_a_whole_run(tmp_path: Path) -> None:
    clock = FakeClock()
    backend = FakeBackend([1, 1, 1], clock, default=1)
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        waits=clock,
        install_signal_handlers=False,
    )
    report = start_run(
        Invocation(runbook="unit.polls"), Config(root=tmp_path), surroundings, Catalog([Polls])
    )
    assert report is not None and report.exit_code == 1
    assert report.failed_step == "ready"
    assert [at for _, at in backend.calls] == [0, 10, 20]
    assert "opsbooks resume" in out.getvalue()


def _request(**kwargs: object) -> GateRequest:
    return GateRequest(step_id="g", kind="confirm", prompt="ok?", **kwargs)  # type: ignore[arg-type]


def test_coerce_validates_each_kind() -> None:
    assert coerce(_request(), "yes") is True and coerce(_request(), "n") is False
    with pytest.raises(ValueError, match="yes or no"):
        coerce(_request(), "maybe")
    phrase = _request(phrase="prod")
    assert coerce(phrase, "prod") is True
    with pytest.raises(ValueError, match="type exactly 'prod'"):
        coerce(phrase, "y")
    choose = GateRequest(step_id="c", kind="choose", prompt="?", choices=("a", "b"))
    assert coerce(choose, "2") == "b"
    ask = GateRequest(step_id="n", kind="ask", prompt="?", answer_type=int)
    assert coerce(ask, "7") == 7
    with pytest.raises(ValueError, match="expected a int"):
        coerce(ask, True)


def test_yes_prompter_answers_confirmations_only() -> None:
    yes = YesPrompter("op")
    assert yes.answer(_request()) is not None
    assert yes.answer(_request(phrase="prod")) is None
    assert yes.answer(GateRequest(step_id="c", kind="choose", prompt="?", choices=("a",))) is None
    scripted = ScriptedPrompter({"g": "no"}, "op")
    answer = scripted.answer(_request())
    assert answer is not None and answer.value is False and not answer.approved


@pytest.mark.slow
def test_terminal_prompter_gives_up_when_the_run_is_asked_to_stop() -> None:
    read_end, write_end = os.pipe()
    calls = []

    def cancelled() -> str | None:
        calls.append(1)
        return "SIGTERM" if len(calls) > 2 else None

    with os.fdopen(read_end) as stdin:
        prompter = TerminalPrompter(stdin, io.StringIO(), "op")
        started = time.monotonic()
        with pytest.raises(NoAnswer, match="SIGTERM received"):
            prompter.answer(_request(cancelled=cancelled))
        assert time.monotonic() - started < 3
    os.close(write_end)


def test_terminal_prompter_reasks_until_valid() -> None:
    out = io.StringIO()
    prompter = TerminalPrompter(io.StringIO("maybe\nyes\n"), out, "op")
    answer = prompter.answer(_request())
    assert answer is not None and answer.value is True and answer.source == "terminal"
    assert "answer yes or no" in out.getvalue()


@pytest.mark.slow
def test_terminal_prompter_timeout_is_a_timed_out_no_answer() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(read_end) as stdin:
        prompter = TerminalPrompter(stdin, io.StringIO(), "op")
        with pytest.raises(NoAnswer) as caught:
            prompter.answer(_request(timeout=0.3))
        assert caught.value.timed_out
    os.close(write_end)


class RecordingBackend(FakeBackend):
    def __init__(self, codes: list[int], clock: Callable[[], float]) -> None:
        super().__init__(codes, clock)
        self.timeouts: list[float | None] = []

    def run(self, spec: CommandSpec, *, out: Writer | None = None) -> CommandResult:
        self.timeouts.append(spec.timeout)
        return super().run(spec, out=out)


def test_a_wait_check_is_bounded_by_the_poll_timeout(tmp_path: Path) -> None:
    clock, events = FakeClock(), []
    backend = RecordingBackend([0], clock)
    env = _env(tmp_path, backend, clock, events)
    assert _run(env, "ready").ok
    assert backend.timeouts == [25]
