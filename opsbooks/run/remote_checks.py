"""Checks on hosts (``RemoteVerify``, ``RemoteWait``): what differs from a ``Remote``.

A check runs like a remote command (one result per host, journaled per host, rolled
out by the step's strategy and threshold), but it is read-only: a resume checks every
host again instead of skipping those that passed, a failure reads "the check did not
hold on web2", and a wait polls each host on its own until its check holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from opsbooks.backends.hosts.inventory import Host
from opsbooks.backends.rollout import Attempt, HostResult
from opsbooks.define.policies import human
from opsbooks.define.specs import RemoteSpec
from opsbooks.run.execute import StepEnv
from opsbooks.run.retrying import poll_until

KINDS = ("remote_verify", "remote_wait")
#: notes a failed poll of one host (host, attempt, why, wait), reported from the main thread
Note = Callable[[str, int, str, float], None]


def is_check(spec: RemoteSpec) -> bool:
    """A read-only check on hosts: re-run on every host on resume."""
    return bool(spec.check)


def checking(spec: RemoteSpec, env: StepEnv, attempt: Attempt, noted: Note) -> Attempt:
    """``attempt`` as the step's check: polled per host for a wait, explained for both.

    Polls run on roll-out workers: each failed poll goes to ``noted``, never to an
    observer (the journal and the console are the main thread's).
    """
    if spec.check == "wait" and spec.poll is not None:
        poll = spec.poll

        def polled(host: Host) -> HostResult:
            def note(number: int, failed: HostResult, wait: float) -> None:
                why = failed.error or f"exit code {failed.exit_code}"
                noted(host.name, number, env.redact(why), wait)

            outcome = poll_until(
                lambda _n: attempt(host),
                lambda r: r.ok,
                poll,
                sleep=env.waits.sleep,
                clock=env.waits.monotonic,
                on_attempt=note,
            )
            if outcome.value.ok:
                return outcome.value
            why = (
                f"still not true on {host.name} after {outcome.attempts} checks over "
                f"{human(outcome.elapsed)} (timeout {human(poll.timeout)})"
            )
            return _failed(outcome.value, why)

        return polled
    if spec.check == "verify":
        expect = f"; expected: {spec.expect}" if spec.expect else ""

        def verified(host: Host) -> HostResult:
            done = attempt(host)
            if done.ok:
                return done
            return _failed(done, f"the check did not hold on {host.name}{expect}")

        return verified
    return attempt


def _failed(result: HostResult, why: str) -> HostResult:
    """``why``, then the host's own reason (its exit code and last stderr line)."""
    own = result.error or (f"exit code {result.exit_code}" if result.exit_code else "")
    return replace(result, error=f"{why} ({own})" if own else why)
