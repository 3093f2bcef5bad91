"""Carry out one planned step by its kind, with its retry or poll policy.

Each function takes the step and a ``StepEnv`` (the run's effects, injected) and
returns a ``StepResult``; none writes the journal: the runner does, around them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbooks.backends.notify import DeliveryFailed, deliver
from opsbooks.backends.protocols import Backend, CommandResult, CommandSpec
from opsbooks.define import outputs
from opsbooks.define.context import StepContext
from opsbooks.define.params import Params, param_values
from opsbooks.define.runbook import Runbook, parse_when
from opsbooks.define.steps import Branch, Command, Notify, PythonStep, Remote, Verify, WaitUntil
from opsbooks.edges.config import Config
from opsbooks.edges.console import Console
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.records.events import AttemptFailed, Event
from opsbooks.run.outcome import StepResult
from opsbooks.run.retrying import poll_until, retry_until_ok

Ask = Callable[[PlannedStep], StepResult]
RemoteRun = Callable[[PlannedStep, "StepEnv"], StepResult]


@dataclass
class StepEnv:
    """Everything a step may touch, passed in so tests can swap any part."""

    run_id: str
    plan: Plan
    backend: Backend
    console: Console
    emit: Callable[[Event], None]
    config: Config
    workdir: Path
    ask: Ask
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    answers: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    remote: RemoteRun | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    #: scrubs secrets from text that goes straight to the journal (host output, errors).
    redact: Callable[[str], str] = str
    #: step id -> reason: fail these steps without running them (drills rehearse rollback).
    injected_failures: Mapping[str, str] = field(default_factory=dict)

    @property
    def params(self) -> Params:
        assert self.plan.params is not None
        return self.plan.params


def execute(planned: PlannedStep, env: StepEnv) -> StepResult:
    """Run ``planned`` once through its policy; never raises for a failed step."""
    item = planned.step
    started = time.monotonic()  # real time: the injected clock only drives polls and retries
    if planned.id in env.injected_failures:
        return StepResult(ok=False, reason=f"injected failure: {env.injected_failures[planned.id]}")
    if planned.kind in ("gate", "manual"):
        result = env.ask(planned)
    elif isinstance(item, WaitUntil):
        result = _wait(planned, item, env)
    elif isinstance(item, Branch):
        result = _branch(item, env)
    elif isinstance(item, Remote):  # Upload and Download are Remote steps too
        if env.remote is None:
            result = StepResult(
                ok=False,
                reason="remote steps need hosts: configure `hosts` (see docs/guides/"
                "remote-hosts.md) and run with the remote backend",
            )
        else:
            result = env.remote(planned, env)
    else:
        result = _with_retry(planned, env, lambda _n: _once(planned, env))
    result.duration = time.monotonic() - started
    return result


def _with_retry(
    planned: PlannedStep, env: StepEnv, attempt: Callable[[int], StepResult]
) -> StepResult:
    def on_retry(number: int, failed: StepResult, wait: float) -> None:
        env.emit(AttemptFailed(planned.id, number, failed.reason, wait))

    outcome = retry_until_ok(
        attempt,
        lambda r: r.ok,
        planned.retry,
        sleep=env.sleep,
        clock=env.clock,
        on_retry=on_retry,
    )
    outcome.value.attempts = outcome.attempts
    return outcome.value


def _once(planned: PlannedStep, env: StepEnv) -> StepResult:
    item = planned.step
    if isinstance(item, Command):
        return _command(planned, item, env)
    if isinstance(item, Verify):
        return _check(planned, item.check, env, expect=planned.text or "")
    if isinstance(item, Notify):
        return _notify(planned, item, env)
    if isinstance(item, PythonStep):
        return _python(planned, item, env)
    return StepResult(ok=False, reason=f"opsbooks cannot execute a {planned.kind!r} step")


def run_command(
    env: StepEnv,
    command: str,
    shown: str,
    *,
    timeout: float | None = None,
    cwd: str | None = None,
    env_vars: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> CommandResult:
    """Run through the run's backend, streaming redacted output to the console.

    The command sees ``OPSBOOKS_RUN_ID`` and ``OPSBOOKS_RUNBOOK``, so an action can
    point at the run it belongs to (``opsbooks report $OPSBOOKS_RUN_ID``).
    """
    run_vars = {"OPSBOOKS_RUN_ID": env.run_id, "OPSBOOKS_RUNBOOK": env.plan.name}
    spec = CommandSpec(
        command=command,
        shown=shown,
        timeout=timeout,
        cwd=str(env.workdir / cwd) if cwd else str(env.workdir),
        env={**run_vars, **(env_vars or {})},
        stdin=stdin,
    )
    return env.backend.run(spec, out=env.console)


def _result_of(done: CommandResult, ok_codes: tuple[int, ...], timeout: float | None) -> StepResult:
    output = done.tail(200)
    if done.timed_out:
        return StepResult(
            ok=False,
            output=output,
            exit_code=done.exit_code,
            timed_out=True,
            reason=f"timed out after {timeout:g}s; its process group was killed",
        )
    if done.exit_code not in ok_codes:
        last = done.tail(1)
        why = f"exit code {done.exit_code}" + (f": {last}" if last else "")
        return StepResult(ok=False, output=output, exit_code=done.exit_code, reason=why)
    return StepResult(
        ok=True, output=output, exit_code=done.exit_code, published=outputs.parse(done.stdout)
    )


def _command(planned: PlannedStep, item: Command, env: StepEnv) -> StepResult:
    assert planned.command is not None
    done = run_command(
        env,
        planned.command,
        planned.shown or "",
        timeout=planned.timeout,
        cwd=item.cwd,
        env_vars=item.env,
        stdin=item.stdin,
    )
    return _result_of(done, tuple(item.ok_codes), planned.timeout)


def _check(
    planned: PlannedStep, check: Any, env: StepEnv, *, expect: str, timeout: float | None = None
) -> StepResult:
    if callable(check):
        try:
            held = bool(check(_context(planned, env)))
        except Exception as exc:  # a check that crashes has not held
            return StepResult(ok=False, reason=f"check raised {type(exc).__name__}: {exc}")
        return StepResult(ok=held, reason="" if held else f"check did not hold{_expect(expect)}")
    assert planned.command is not None
    timeout = planned.timeout if timeout is None else timeout
    done = run_command(env, planned.command, planned.shown or "", timeout=timeout)
    result = _result_of(done, (0,), timeout)
    if not result.ok and not result.timed_out:
        result.reason = f"check did not hold ({result.reason}){_expect(expect)}"
    return result


def _expect(expect: str) -> str:
    return f"; expected: {expect}" if expect else ""


def _wait(planned: PlannedStep, item: WaitUntil, env: StepEnv) -> StepResult:
    def on_attempt(number: int, failed: StepResult, wait: float) -> None:
        env.emit(AttemptFailed(planned.id, number, failed.reason or "not yet", wait))

    outcome = poll_until(
        # a check that hangs must not outlive the poll: bound it by the poll's timeout
        lambda _n: _check(
            planned, item.check, env, expect="", timeout=planned.timeout or item.poll.timeout
        ),
        lambda r: r.ok,
        item.poll,
        sleep=env.sleep,
        clock=env.clock,
        on_attempt=on_attempt,
    )
    result = outcome.value
    result.attempts = outcome.attempts
    if not result.ok:
        result.reason = (
            f"still not true after {outcome.attempts} checks over {outcome.elapsed:.0f}s "
            f"(timeout {item.poll.timeout:g}s): {result.reason}"
        )
    return result


def _branch(item: Branch, env: StepEnv) -> StepResult:
    value = env.answers.get(item.on, getattr(env.params, item.on, None))
    key = _key(value)
    target = item.routes.get(key, item.default)
    if target is None:
        return StepResult(
            ok=False,
            reason=f"no route for {item.on}={key!r}; routes: {', '.join(item.routes)}",
        )
    return StepResult(ok=True, route=target, output=f"{item.on}={key} -> {target}")


def _key(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def _notify(planned: PlannedStep, item: Notify, env: StepEnv) -> StepResult:
    channel = env.config.notify.get(item.channel)
    if channel is None:
        return StepResult(
            ok=False,
            reason=f"notify channel {item.channel!r} is not configured; known: "
            f"{', '.join(sorted(env.config.notify)) or '(none)'}",
        )
    message = planned.text or ""
    try:
        where = deliver(
            channel,
            message,
            meta={"runbook": env.plan.name, "run_id": env.run_id, "step": planned.id},
            resolve=env.config.path,
            say=env.console.say,
        )
    except DeliveryFailed as exc:
        return StepResult(ok=False, reason=str(exc))
    return StepResult(ok=True, output=f"delivered to {where}: {message}")


def _python(planned: PlannedStep, item: PythonStep, env: StepEnv) -> StepResult:
    runbook: Runbook = env.plan.runbook(env.params)
    try:
        output = item(runbook, _context(planned, env))
    except Exception as exc:
        return StepResult(ok=False, reason=f"{type(exc).__name__}: {exc}")
    if output is not None:
        env.outputs[planned.id] = str(output)
        env.console.write(str(output).rstrip("\n") + "\n")
    return StepResult(ok=True, output="" if output is None else str(output))


def _context(planned: PlannedStep, env: StepEnv) -> StepContext:
    def run(command: str, *, timeout: float | None = None, check: bool = True) -> CommandResult:
        done = run_command(env, command, command, timeout=timeout)
        if check and not done.ok:
            raise RuntimeError(
                f"`{command}` failed with exit code {done.exit_code}: {done.tail(3)}"
            )
        return done

    return StepContext(
        run_id=env.run_id,
        step_id=planned.id,
        params=env.params,
        answers=env.answers,
        outputs=env.outputs,
        workdir=env.workdir,
        config=env.config.model_dump(),
        run=run,
        say=env.console.say,
        extras=env.extras,
    )


def condition_holds(planned: PlannedStep, env: StepEnv) -> tuple[bool, str]:
    """Evaluate ``when``; return whether to run and, if not, why it is skipped."""
    when = planned.step.when
    if when is None:
        return True, ""
    values = {**param_values(env.params), **env.answers}
    if callable(when):
        holds = bool(when(values))
        return holds, "" if holds else f"condition {planned.when} is false"
    negate, name, op, literal = parse_when(when)
    value = values.get(name)
    holds = bool(value) if op is None else (_key(value) == literal) == (op == "==")
    holds = holds != negate
    return holds, "" if holds else f"when {when!r} is false ({name}={_key(value)})"
