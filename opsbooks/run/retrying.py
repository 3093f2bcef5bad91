"""Retries and polling through tenacity, with sleep and clock injected.

The only module that imports tenacity. The deadline check uses the injected clock
and the sleep about to happen (like tenacity's ``stop_before_delay``), so a poll
never overshoots its timeout by an interval, and tests never really wait.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from opsbooks.define.policies import Poll, Retry

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")
Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Attempted(Generic[T]):
    """The last result and how many attempts it took."""

    value: T
    attempts: int
    elapsed: float


def _wait(first: float, backoff: float, cap: float) -> Callable[[RetryCallState], float]:
    """``first``, then times ``backoff`` per attempt, never above ``cap`` (0: no cap)."""

    def wait(state: RetryCallState) -> float:
        delay = first * backoff ** max(state.attempt_number - 1, 0)
        return min(delay, cap) if cap else delay

    return wait


def retry_until_ok(
    attempt: Callable[[int], T],
    ok: Callable[[T], bool],
    policy: Retry | None,
    *,
    sleep: Sleep,
    clock: Clock,
    on_retry: Callable[[int, T, float], None] | None = None,
) -> Attempted[T]:
    """Call ``attempt(n)`` until ``ok`` or the policy's attempts run out; never raises.

    A step without retries (most) is one call, as tenacity would make it, without
    importing tenacity or building a ``Retrying`` per step.
    """
    attempts = policy.attempts if policy else 1
    if attempts <= 1:
        start = clock()
        return Attempted(value=attempt(1), attempts=1, elapsed=clock() - start)
    wait = policy.wait if policy else 0.0
    backoff = policy.backoff if policy else 1.0
    cap = policy.max_wait if policy else 0.0
    from tenacity import stop_after_attempt  # lazy: see _loop

    return _loop(
        attempt,
        ok,
        stop_after_attempt(attempts),
        _wait(wait, backoff, cap),
        sleep=sleep,
        clock=clock,
        on_retry=on_retry,
    )


def poll_until(
    check: Callable[[int], T],
    ok: Callable[[T], bool],
    poll: Poll,
    *,
    sleep: Sleep,
    clock: Clock,
    on_attempt: Callable[[int, T, float], None] | None = None,
) -> Attempted[T]:
    """Call ``check`` every interval until ``ok``; stop before a sleep would pass the deadline."""
    start = clock()

    def before_deadline(state: RetryCallState) -> bool:
        upcoming = state.upcoming_sleep or 0.0
        return clock() - start + upcoming >= poll.timeout

    return _loop(
        check,
        ok,
        before_deadline,
        _wait(poll.interval, poll.backoff, poll.max_interval),
        sleep=sleep,
        clock=clock,
        on_retry=on_attempt,
    )


def _loop(
    attempt: Callable[[int], T],
    ok: Callable[[T], bool],
    stop: Callable[[RetryCallState], bool],
    wait: Callable[[RetryCallState], float],
    *,
    sleep: Sleep,
    clock: Clock,
    on_retry: Callable[[int, T, float], None] | None,
) -> Attempted[T]:
    # lazy: tenacity only for a step that retries or polls, not for every run
    from tenacity import Retrying, retry_if_result

    start = clock()

    def report(state: RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            on_retry(state.attempt_number, state.outcome.result(), state.upcoming_sleep or 0.0)

    retrying = Retrying(
        stop=stop,
        wait=wait,
        sleep=sleep,
        retry=retry_if_result(lambda value: not ok(value)),
        before_sleep=report,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        reraise=False,
    )
    count = 0

    def counted() -> T:
        nonlocal count
        count += 1
        return attempt(count)

    value = retrying(counted)
    return Attempted(value=value, attempts=count, elapsed=clock() - start)
