"""The executors of the built-in step kinds, registered by kind on import.

Each reads its planned step's spec (``opsbooks.define.specs``) and the run's effects;
a user's kind registers its own the same way (``opsbooks.register_step_kind``).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import IO, Any, cast

from opsbooks.backends.notify import DeliveryFailed
from opsbooks.define.specs import BranchSpec, CheckSpec, CommandStepSpec, NotifySpec, PythonSpec
from opsbooks.plan.binding import PlannedStep
from opsbooks.records.events import AttemptFailed
from opsbooks.run.conditions import choose_case
from opsbooks.run.diagnosis import run_diagnosis
from opsbooks.run.execute import (
    StepEnv,
    register_executor,
    result_of,
    run_command,
    step_context,
    with_retry,
)
from opsbooks.run.outcome import StepResult
from opsbooks.run.retrying import poll_until
from opsbooks.run.state import RunState
from opsbooks.run.subrun import run_subrun


def _command(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    spec: CommandStepSpec = planned.spec
    assert planned.command is not None

    def once() -> StepResult:
        done = run_command(
            env,
            run,
            planned.command or "",
            planned.shown or "",
            timeout=planned.timeout,
            cwd=spec.cwd,
            env_vars=spec.env,
            stdin=spec.stdin,
        )
        return result_of(done, spec.ok_codes, planned.timeout)

    return with_retry(planned, env, once)


def _check(
    planned: PlannedStep, env: StepEnv, run: RunState, *, expect: str, timeout: float | None
) -> StepResult:
    spec: CheckSpec = planned.spec
    if spec.call is not None:
        try:
            held = bool(spec.call(step_context(planned, env, run)))
        except Exception as exc:  # a check that crashes has not held
            return StepResult(ok=False, reason=f"check raised {type(exc).__name__}: {exc}")
        return StepResult(ok=held, reason="" if held else f"check did not hold{_expect(expect)}")
    command, shown = planned.command or "", planned.shown or ""
    done = run_command(env, run, command, shown, timeout=timeout, env_vars=spec.env)
    result = result_of(done, (0,), timeout)
    if not result.ok and not result.timed_out:
        result = replace(result, reason=f"check did not hold ({result.reason}){_expect(expect)}")
    return result


def _expect(expect: str) -> str:
    return f"; expected: {expect}" if expect else ""


def _verify(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    spec: CheckSpec = planned.spec
    return with_retry(
        planned,
        env,
        lambda: _check(planned, env, run, expect=spec.expect, timeout=planned.timeout),
    )


def _wait(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    spec: CheckSpec = planned.spec
    assert spec.poll is not None
    poll = spec.poll

    def on_attempt(number: int, failed: StepResult, wait: float) -> None:
        env.emit(AttemptFailed(planned.id, number, failed.reason or "not yet", wait))

    outcome = poll_until(
        # a check that hangs must not outlive the poll: bound it by the poll's timeout
        lambda _n: _check(planned, env, run, expect="", timeout=planned.timeout or poll.timeout),
        lambda r: r.ok,
        poll,
        sleep=env.waits.sleep,
        clock=env.waits.monotonic,
        on_attempt=on_attempt,
    )
    result = replace(outcome.value, attempts=outcome.attempts)
    if not result.ok:
        result = replace(
            result,
            reason=f"still not true after {outcome.attempts} checks over {outcome.elapsed:.0f}s "
            f"(timeout {poll.timeout:g}s): {result.reason}",
        )
    return result


def route_key(value: Any) -> str:
    """How a param or answer reads when matched against routes and conditions."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def _branch(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    spec: BranchSpec = planned.spec
    if spec.cases:
        return choose_case(planned, env, run)
    value = run.answers.get(spec.on, getattr(env.params, spec.on, None))
    key = route_key(value)
    target = spec.routes.get(key, spec.default)
    if target is None:
        return StepResult(
            ok=False,
            reason=f"no route for {spec.on}={key!r}; routes: {', '.join(spec.routes)}",
        )
    return StepResult(ok=True, route=target, output=f"{spec.on}={key} -> {target}")


def _notify(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    spec: NotifySpec = planned.spec
    message = planned.text or ""
    meta = {"runbook": env.plan.name, "run_id": run.run_id, "step": planned.id}

    def once() -> StepResult:
        try:
            where = env.notifier.send(spec.channel, message, meta)
        except DeliveryFailed as exc:
            return StepResult(ok=False, reason=str(exc))
        return StepResult(ok=True, output=f"delivered to {where}: {message}")

    return with_retry(planned, env, once)


def _python(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    spec: PythonSpec = planned.spec

    def once() -> StepResult:
        try:  # a print() in the step goes through the run's redacting output too
            with contextlib.redirect_stdout(cast(IO[str], env.output)):
                output = spec.call(step_context(planned, env, run))
        except Exception as exc:
            return StepResult(ok=False, reason=f"{type(exc).__name__}: {exc}")
        if output is None:
            return StepResult(ok=True)
        env.output.write(str(output).rstrip("\n") + "\n")
        return StepResult(ok=True, output=str(output), returned=str(output))

    return with_retry(planned, env, once)


def _asked(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    return env.ask(planned, run)


def _on_hosts(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    if env.hosts is None:
        return StepResult(
            ok=False,
            reason="remote steps need hosts: configure `hosts` (see docs/guides/"
            "remote-hosts.md) and run with the remote backend",
        )
    return env.hosts(planned, env, run)


for _kind, _executor in {
    "command": _command,
    "verify": _verify,
    "wait": _wait,
    "branch": _branch,
    "notify": _notify,
    "python": _python,
    "gate": _asked,
    "manual": _asked,
    "remote": _on_hosts,
    "upload": _on_hosts,
    "download": _on_hosts,
    "remote_verify": _on_hosts,
    "remote_wait": _on_hosts,
    "subrun": run_subrun,
    "diagnosis": run_diagnosis,
}.items():
    register_executor(_kind, _executor)
