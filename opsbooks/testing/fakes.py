"""Fakes of the library's protocols, for fast tests: no processes, no network, no sleep."""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbooks.backends.hosts.inventory import Host
from opsbooks.backends.notify import DeliveryFailed
from opsbooks.backends.protocols import Backend, CommandResult, CommandSpec, Writer
from opsbooks.backends.rollout import HostResult, tail
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.records.events import Event
from opsbooks.run.execute import Ask, HostSteps, StepEnv
from opsbooks.run.outcome import StepResult
from opsbooks.run.protocols import Notifier
from opsbooks.run.state import RunState


class FakeIdentity:
    """A :class:`~opsbooks.records.identity.HostIdentity` whose host, pid and live pids
    are whatever the test says: stage a live holder, a crashed one, or another host.

    ``FakeIdentity("web1", pid=100, alive={100, 200})`` is process 100 on ``web1``, with
    process 200 also running there; every other pid is gone. Its own pid is alive
    unless the test calls ``kill`` on it.
    """

    def __init__(self, host: str = "here", *, pid: int = 1000, alive: Iterable[int] = ()) -> None:
        self.host = host
        self.own_pid = pid
        self.alive = {pid, *alive}

    def name(self) -> str:
        return self.host

    def pid(self) -> int:
        return self.own_pid

    def is_alive(self, pid: int) -> bool:
        return pid in self.alive

    def kill(self, pid: int) -> None:
        """Make ``pid`` a crashed process from now on."""
        self.alive.discard(pid)


# -- commands, notifications and a whole step environment --------------------------------


class FakeBackend:
    """A ``Backend`` that answers each command from a script of exit codes.

    Records every command with the time its clock said (``calls``), so a test can
    assert when polls and retries ran; ``outputs`` gives stdout per call, in order.
    ``answers`` scripts by command instead: the first key found in a command gives its
    exit code and stdout (``{"deploy": (1, "boom\n")}``), before ``codes`` is consulted.
    """

    def __init__(
        self,
        codes: list[int] | None = None,
        clock: Callable[[], float] | None = None,
        *,
        default: int = 0,
        outputs: list[str] | None = None,
        answers: Mapping[str, tuple[int, str]] | None = None,
    ) -> None:
        self.answers = dict(answers or {})
        self.codes = list(codes or [])
        self.clock = clock or (lambda: 0.0)
        self.default = default
        self.outputs = list(outputs or [])
        self.calls: list[tuple[str, float]] = []
        self.specs: list[CommandSpec] = []

    def run(self, spec: CommandSpec, *, out: Writer | None = None) -> CommandResult:
        self.calls.append((spec.command, self.clock()))
        self.specs.append(spec)
        scripted = next((v for k, v in self.answers.items() if k in spec.command), None)
        if scripted is not None:
            code, stdout = scripted
        else:
            code = self.codes.pop(0) if self.codes else self.default
            stdout = self.outputs.pop(0) if self.outputs else f"call {len(self.calls)}\n"
        if out is not None:
            out.write(stdout)
        return CommandResult(exit_code=code, stdout=stdout)


class FakeNotifier:
    """A ``Notifier`` that keeps what it was sent; channels in ``failing`` refuse."""

    def __init__(self, *, failing: tuple[str, ...] = ()) -> None:
        self.failing = failing
        self.sent: list[tuple[str, str, dict[str, str]]] = []

    def send(self, channel: str, message: str, meta: Mapping[str, str]) -> str:
        if channel in self.failing:
            raise DeliveryFailed(f"channel {channel!r} refused the message (fake)")
        self.sent.append((channel, message, dict(meta)))
        return f"fake channel {channel}"


class FakeOutput(io.StringIO):
    """An ``Output`` that keeps everything written and said, with a no-op heartbeat."""

    def say(self, text: str) -> None:
        self.write(text + "\n")

    @contextlib.contextmanager
    def heartbeat(self, label: str, every: float = 30.0) -> Iterator[None]:
        yield


def fake_env(
    plan: Plan,
    *,
    backend: Backend | None = None,
    clock: Any = None,
    notifier: Notifier | None = None,
    events: list[Event] | None = None,
    ask: Ask | None = None,
    hosts: HostSteps | None = None,
    workdir: Path = Path("."),
) -> StepEnv:
    """A ``StepEnv`` of fakes for running planned steps in a unit test."""
    from opsbooks.run import kinds as _kinds  # noqa: F401  (registers the built-in executors)
    from opsbooks.testing import FakeClock

    fake_clock = clock or FakeClock()
    sink = events if events is not None else []

    def no_questions(planned: PlannedStep, run: RunState) -> StepResult:
        raise AssertionError(f"{planned.id} asked a question, and this test gives no answers")

    return StepEnv(
        plan=plan,
        backend=backend or FakeBackend(clock=fake_clock),
        output=FakeOutput(),
        notifier=notifier or FakeNotifier(),
        clock=fake_clock,
        waits=fake_clock,
        workdir=workdir,
        emit=sink.append,
        ask=ask or no_questions,
        hosts=hosts,
    )


# -- hosts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostCall:
    """One call a ``FakeHosts`` answered: on which host, what, and with what input.

    ``action`` is ``run``, ``put``, ``get`` or ``probe``; ``command`` is the command,
    ``put LOCAL REMOTE``, ``get REMOTE LOCAL`` or ``probe``.
    """

    host: str
    action: str
    command: str
    stdin: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    #: the user a ``become`` step runs as (``None``: the login user)
    become: str | None = None


class FakeHosts:
    """A ``HostBackend`` that contacts nothing: scripted outcomes per host, calls recorded.

    ``FakeHosts(fail={"web2": 1}, unreachable={"web3"}, output={"web1": "v2\\n"})``: web2's
    commands exit 1, web3 cannot be reached (any call, probes included), web1 prints
    ``v2``; everything else succeeds. For more, pass ``handler(call)`` returning a
    ``HostResult`` (or ``None`` for the scripted answer), as httpx's ``MockTransport``
    takes a function of the request. Safe to call from roll-out worker threads.
    """

    def __init__(
        self,
        handler: Callable[[HostCall], HostResult | None] | None = None,
        *,
        fail: Mapping[str, int] | None = None,
        unreachable: Iterable[str] = (),
        output: Mapping[str, str] | None = None,
    ) -> None:
        self.handler = handler
        self.fail = dict(fail or {})
        self.unreachable = set(unreachable)
        self.output = dict(output or {})
        self.calls: list[HostCall] = []
        self.sessions: list[str] = []
        self._lock = threading.Lock()

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float | None = None,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        become: str | None = None,
    ) -> HostResult:
        call = HostCall(host.name, "run", command, stdin, dict(env or {}), timeout, become)
        return self._answer(call)

    def put(self, host: Host, local: str | Path, remote: str) -> HostResult:
        return self._answer(HostCall(host.name, "put", f"put {local} {remote}"))

    def get(self, host: Host, remote: str, local: str | Path) -> HostResult:
        return self._answer(HostCall(host.name, "get", f"get {remote} {local}"))

    def probe(self, host: Host) -> HostResult:
        return self._answer(HostCall(host.name, "probe", "probe"))

    @contextlib.contextmanager
    def session(self, host: Host) -> Iterator[None]:
        with self._lock:
            self.sessions.append(host.name)
        yield

    def ran(self, host: str, action: str = "run") -> list[str]:
        """What was done on ``host`` (by default: the commands run there), in order."""
        return [c.command for c in self.calls if c.host == host and c.action == action]

    @property
    def hosts(self) -> list[str]:
        """The hosts that got any call, in the order of their first call."""
        return list(dict.fromkeys(c.host for c in self.calls))

    def _answer(self, call: HostCall) -> HostResult:
        with self._lock:
            self.calls.append(call)
        answer = self.handler(call) if self.handler is not None else None
        return answer if answer is not None else self.scripted(call)

    def scripted(self, call: HostCall) -> HostResult:
        """The answer ``fail``, ``unreachable`` and ``output`` give for ``call``."""
        name = call.host
        if name in self.unreachable:
            error = f"cannot connect to {name}: connection refused (fake)"
            return HostResult(name, "failed", error=error, error_kind="connect")
        code = self.fail.get(name, 0) if call.action == "run" else 0
        out = self.output.get(name, "") if call.action == "run" else ""
        failed = f"exit code {code} on {name}" if code else None
        return HostResult(
            name,
            "failed" if code else "ok",
            exit_code=code,
            stdout_tail=tail(out),
            error=failed,
            error_kind="exit" if code else None,
            stdout=out,
        )
