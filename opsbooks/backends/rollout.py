"""Roll an action out over hosts: canary, batches, bounded parallelism, failure thresholds.

The rules live here, apart from SSH, so they can be tested with a plain function as
the per-host action. ``max_failures`` is how many failed hosts the roll-out
*tolerates*: it stops as soon as failures exceed it (``0``, the default, stops at
the first failure; ``"25%"`` tolerates a quarter of the role's hosts). Hosts not
reached are reported as not attempted, so a resume knows exactly what is left.
Callbacks run on the calling thread, never on a worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal, Protocol

from opsbooks.backends.hosts.inventory import Host

Strategy = Literal["parallel", "serial", "batches"]
Status = Literal["ok", "failed", "not_attempted", "skipped"]
ErrorKind = Literal[
    "exit",
    "timeout",
    "connect",
    "auth",
    "hostkey",
    "unknown_hostkey",
    "keyfile",
    "disconnected",
    "ssh",
    "transfer",
    "error",
]
StopReason = Literal["threshold", "canary", "operator"]

TAIL_LINES = 20
TAIL_CHARS = 4000


def tail(text: str, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``, at most ``TAIL_CHARS`` characters."""
    kept = "\n".join(text.rstrip("\n").splitlines()[-lines:])
    return kept[-TAIL_CHARS:]


@dataclass(frozen=True)
class HostResult:
    """What happened on one host; ``error`` says why it failed in words an operator can act on.

    ``trusted_key`` is set when this run accepted and saved a host key it had not
    seen before (only with ``trust_new_hosts``): record it.
    """

    host: str
    status: Status
    exit_code: int | None = None
    duration: float = 0.0
    stdout_tail: str = ""
    stderr_tail: str = ""
    error: str | None = None
    error_kind: ErrorKind | None = None
    timed_out: bool = False
    trusted_key: str | None = None
    #: the command's whole standard output, for callers that parse it (never journaled)
    stdout: str = field(default="", repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def attempted(self) -> bool:
        return self.status in ("ok", "failed")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["stdout"]
        return data


_SUDO_HINT = (
    ' (sudo wants a password on this host: set sudo_password = "ask" in the [ssh] '
    "settings to be asked once per run, or OPSBOOKS_SUDO_PASSWORD in the environment)"
)


def explained(result: HostResult) -> HostResult:
    """A host that exited non-zero, with its own words: the last line of its stderr.

    So a failure reads ``exit code 1 on web2: nginx: [emerg] unknown directive``, not
    only ``exit code 1 on web2``; a sudo that wants a password says how to give one.
    """
    if result.ok or result.error_kind != "exit" or not result.error:
        return result
    said = [line.strip() for line in result.stderr_tail.splitlines() if line.strip()]
    if not said:
        return result
    hint = _SUDO_HINT if "a password is required" in result.stderr_tail else ""
    return replace(result, error=f"{result.error}: {said[-1]}{hint}")


@dataclass(frozen=True)
class Threshold:
    """How many failed hosts a roll-out tolerates: a count, or a share of its hosts."""

    count: int | None = 0
    percent: Fraction | None = None

    @classmethod
    def parse(cls, value: int | str) -> Threshold:
        if isinstance(value, bool):
            raise ValueError("max_failures must be a count or a percentage, not a boolean")
        if isinstance(value, int):
            if value < 0:
                raise ValueError(f"max_failures={value} must not be negative")
            return cls(count=value)
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)
        if match:
            return cls(count=None, percent=Fraction(match.group(1)))
        if value.strip().isdigit():
            return cls(count=int(value))
        raise ValueError(f"max_failures={value!r}: give a count like 1 or a percentage like '25%'")

    def allowed(self, total: int) -> int:
        """The most failures tolerated among ``total`` hosts."""
        if self.count is not None:
            return self.count
        assert self.percent is not None
        return int(self.percent * total / 100)

    def exceeded(self, failures: int, total: int) -> bool:
        return failures > self.allowed(total)

    def describe(self, total: int | None = None) -> str:
        if self.count is not None:
            return f"max_failures={self.count}"
        shown = f"max_failures={self.percent}%"
        return shown if total is None else f"{shown} ({self.allowed(total)} of {total} hosts)"


class RolloutSpec(Protocol):
    """How a remote step (``Remote`` or its planned spec) says it rolls out."""

    @property
    def strategy(self) -> Strategy: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def max_failures(self) -> int | str: ...
    @property
    def canary(self) -> bool: ...
    @property
    def timeout_seconds(self) -> float | None: ...
    @property
    def workers(self) -> int: ...


@dataclass(frozen=True)
class RolloutOptions:
    """How to roll out: strategy, batch size, failure threshold, canary, timeout, workers.

    ``timeout`` is per host command (``None``: the inventory's ``command_timeout``);
    ``workers`` bounds how many hosts run at once in any strategy.
    """

    strategy: Strategy = "serial"
    batch_size: int = 1
    max_failures: int | str = 0
    canary: bool = False
    timeout: float | None = None
    workers: int = 10

    def __post_init__(self) -> None:
        if self.strategy not in ("parallel", "serial", "batches"):
            raise ValueError(f"strategy={self.strategy!r}: use parallel, serial or batches")
        if self.batch_size < 1 or self.workers < 1:
            raise ValueError("batch_size and workers must be at least 1")
        Threshold.parse(self.max_failures)

    @property
    def threshold(self) -> Threshold:
        return Threshold.parse(self.max_failures)

    @classmethod
    def for_step(cls, step: RolloutSpec, *, workers: int | None = None) -> RolloutOptions:
        """Options from a remote step's declared roll-out (``workers`` overrides its own)."""
        return cls(
            strategy=step.strategy,
            batch_size=step.batch_size,
            max_failures=step.max_failures,
            canary=step.canary,
            timeout=step.timeout_seconds,
            workers=workers or step.workers,
        )


@dataclass(frozen=True)
class RolloutResult:
    """Every host's result in inventory order, and whether and why the roll-out stopped.

    ``ok`` means the roll-out went through within its threshold; hosts in ``failed``
    may still be non-empty then (tolerated failures), and resume re-runs them.
    """

    results: tuple[HostResult, ...]
    options: RolloutOptions = field(default_factory=RolloutOptions)
    stop_reason: StopReason | None = None

    @property
    def ok(self) -> bool:
        return self.stop_reason is None

    def _named(self, status: Status) -> list[str]:
        return [r.host for r in self.results if r.status == status]

    @property
    def succeeded(self) -> list[str]:
        return self._named("ok")

    @property
    def failed(self) -> list[str]:
        return self._named("failed")

    @property
    def not_attempted(self) -> list[str]:
        return self._named("not_attempted")

    @property
    def skipped(self) -> list[str]:
        return self._named("skipped")

    def result(self, host: str) -> HostResult:
        for candidate in self.results:
            if candidate.host == host:
                return candidate
        raise KeyError(host)

    def summary(self) -> str:
        """One paragraph for the console and the step's failure reason."""
        total = len(self.results)
        parts = [f"{len(self.succeeded)} of {total} host(s) ok"]
        for item in self.results:
            if item.status == "failed":
                parts.append(f"{item.host} failed: {item.error}")
        if self.skipped:
            parts.append(f"skipped (already done): {', '.join(self.skipped)}")
        reason = {
            "threshold": f"stopped: {len(self.failed)} failure(s) exceed "
            f"{self.options.threshold.describe(total)}",
            "canary": "stopped: the canary host failed",
            "operator": "stopped by the operator between batches",
        }
        if self.stop_reason is not None:
            parts.append(reason[self.stop_reason])
        if self.not_attempted:
            parts.append(f"not attempted: {', '.join(self.not_attempted)}")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stop_reason": self.stop_reason,
            "strategy": self.options.strategy,
            "max_failures": self.options.max_failures,
            "hosts": [r.to_dict() for r in self.results],
        }


def plan_batches(hosts: Sequence[Host], options: RolloutOptions) -> list[list[Host]]:
    """Split ``hosts`` into the batches the strategy runs, the canary alone first."""
    rest = list(hosts)
    batches: list[list[Host]] = []
    if options.canary and rest:
        batches.append([rest.pop(0)])
    size = {"serial": 1, "batches": options.batch_size, "parallel": max(len(rest), 1)}
    step = size[options.strategy]
    batches.extend(rest[i : i + step] for i in range(0, len(rest), step))
    return batches


Attempt = Callable[[Host], HostResult]
BetweenBatches = Callable[[int, list[HostResult]], bool]


def roll_out(
    hosts: Sequence[Host],
    attempt: Attempt,
    options: RolloutOptions,
    *,
    skip_hosts: Collection[str] = (),
    between_batches: BetweenBatches | None = None,
    on_start: Callable[[Host], None] | None = None,
    on_host: Callable[[HostResult], None] | None = None,
    on_hosts: Callable[[list[HostResult]], None] | None = None,
) -> RolloutResult:
    """Run ``attempt`` on each host by ``options``; stop at the threshold, canary or operator.

    ``skip_hosts`` are reported as skipped and not run (resume passes the hosts that
    already succeeded). ``between_batches(n, results)`` runs after batch ``n``
    (1-based; the canary is batch 1) when more remain; returning False stops.
    ``on_hosts`` (instead of ``on_host``) gets the hosts that finished together at once.
    """
    todo = [h for h in hosts if h.name not in skip_hosts]
    done: dict[str, HostResult] = {h.name: HostResult(h.name, "skipped") for h in hosts}
    done.update({h.name: HostResult(h.name, "not_attempted") for h in todo})
    batches = plan_batches(todo, options)
    stop: StopReason | None = None
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="rollout") as pool:
        run = _Batches(attempt, pool, options, len(hosts), done, on_start, on_host, on_hosts)
        for number, batch in enumerate(batches, start=1):
            gate = between_batches if number < len(batches) else None
            stop = run.stop_reason(number, run.batch(batch), gate)
            if stop is not None:
                break
    return RolloutResult(tuple(done[h.name] for h in hosts), options, stop)


@dataclass
class _Batches:
    """One roll-out's running state: results so far (``done``), the pool, the callbacks."""

    attempt: Attempt
    pool: ThreadPoolExecutor
    options: RolloutOptions
    total: int
    done: dict[str, HostResult]
    on_start: Callable[[Host], None] | None
    on_host: Callable[[HostResult], None] | None
    on_hosts: Callable[[list[HostResult]], None] | None

    @property
    def failures(self) -> int:
        return sum(1 for r in self.done.values() if r.status == "failed")

    def stop_reason(
        self, number: int, results: list[HostResult], gate: BetweenBatches | None
    ) -> StopReason | None:
        """Why to stop after batch ``number``: a failed canary, too many failures, or
        the operator's ``gate`` (asked only when neither stopped it) saying no."""
        if self.options.canary and number == 1 and any(not r.ok for r in results):
            return "canary"
        if self.options.threshold.exceeded(self.failures, self.total):
            return "threshold"
        if gate is not None and not gate(number, results):
            return "operator"
        return None

    def batch(self, batch: list[Host]) -> list[HostResult]:
        """Run one batch, at most ``workers`` at a time; start no new host past the threshold.

        Results are recorded in ``done`` and reported as they arrive (together, if so).
        """
        waiting = list(batch)
        running: dict[Future[HostResult], Host] = {}
        finished: list[HostResult] = []
        while waiting or running:
            self._start(waiting, running)
            if not running:
                break
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            finished.extend(self._record([f.result() for f in running if f in ready]))
            running = {f: h for f, h in running.items() if f not in ready}
        order = {h.name: i for i, h in enumerate(batch)}
        return sorted(finished, key=lambda r: order[r.host])

    def _start(self, waiting: list[Host], running: dict[Future[HostResult], Host]) -> None:
        threshold = self.options.threshold
        while waiting and len(running) < self.options.workers:
            if threshold.exceeded(self.failures, self.total):
                return
            host = waiting.pop(0)
            if self.on_start is not None:
                self.on_start(host)
            running[self.pool.submit(_guarded, self.attempt, host)] = host

    def _record(self, results: list[HostResult]) -> list[HostResult]:
        for result in results:
            self.done[result.host] = result
        if self.on_hosts is not None:
            self.on_hosts(results)
        elif self.on_host is not None:
            for result in results:
                self.on_host(result)
        return results


def _guarded(attempt: Attempt, host: Host) -> HostResult:
    """Never let one host's unexpected exception end the roll-out for the others."""
    try:
        result = attempt(host)
    except Exception as exc:  # the action is supposed to report, not raise
        return HostResult(
            host.name, "failed", error=f"{type(exc).__name__}: {exc}", error_kind="error"
        )
    if result.status not in ("ok", "failed"):
        return HostResult(host.name, "failed", error=f"action reported {result.status!r}")
    return result
