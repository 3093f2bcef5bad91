"""Carry out one planned step: look up its kind's executor and run it through its policy.

A step kind is found through one registry keyed by kind (``register_executor``), so a
new kind, ours or a user's, needs no ``isinstance`` chain here. Executors take the
planned step, the run's effects (``StepEnv``, frozen) and the run's state, and return a
frozen ``StepResult``; none writes the journal: the runner does, around them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from opsbooks.backends.protocols import Backend, CommandResult, CommandSpec
from opsbooks.define import outputs
from opsbooks.define.context import StepContext
from opsbooks.define.params import Params
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.records.events import AttemptFailed, Event
from opsbooks.run import host_outputs
from opsbooks.run.outcome import StepResult
from opsbooks.run.protocols import Clock, Notifier, Output
from opsbooks.run.retrying import retry_until_ok
from opsbooks.run.state import RunState
from opsbooks.run.subrun import ChildRuns, NoChildRuns

Executor = Callable[[PlannedStep, "StepEnv", RunState], StepResult]
Ask = Callable[[PlannedStep, RunState], StepResult]


class HostSteps(Protocol):
    """Runs a planned step on its role's hosts (``run.remote_steps`` is the real one)."""

    def __call__(self, planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult: ...


@dataclass(frozen=True, eq=False)  # never compared: no __eq__/__hash__ made at import
class StepEnv:
    """Everything a step may touch, built once by the composition root and never changed.

    ``clock`` stamps records and measures durations; ``waits`` drives polls, retries
    and their sleeps (a drill injects a fake one so waits take no time).
    """

    plan: Plan
    backend: Backend
    output: Output
    notifier: Notifier
    clock: Clock
    waits: Clock
    workdir: Path
    emit: Callable[[Event], None]
    ask: Ask
    hosts: HostSteps | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    extras: Mapping[str, Any] = field(default_factory=dict)
    #: scrubs secrets from text that goes straight to the journal (host output, errors).
    redact: Callable[[str], str] = str
    #: starts and resumes linked runs (``SubRun``); the composition root injects it
    children: ChildRuns = field(default_factory=NoChildRuns)
    #: more of the run every local command sees (the composition root gives
    #: ``OPSBOOKS_OPERATOR`` and ``OPSBOOKS_STATE_DIR``)
    run_env: Mapping[str, str] = field(default_factory=dict)
    #: ``Config.source``: the config file, so advice spells its tables as it does
    config_source: str = "(defaults)"

    @property
    def params(self) -> Params:
        assert self.plan.params is not None
        return self.plan.params


_EXECUTORS: dict[str, Executor] = {}


def register_executor(kind: str, executor: Executor) -> None:
    """Run every planned step of ``kind`` with ``executor`` (replacing any before)."""
    _EXECUTORS[kind] = executor


def executor_for(kind: str) -> Executor | None:
    return _EXECUTORS.get(kind)


def known_kinds() -> list[str]:
    return sorted(_EXECUTORS)


def execute(planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
    """Run ``planned`` once through its kind's executor; never raises for a failed step."""
    executor = _EXECUTORS.get(planned.kind)
    started = env.clock.monotonic()
    if executor is None:
        return StepResult(
            ok=False,
            reason=f"no executor is registered for {planned.kind!r} steps; register one "
            f"with opsbooks.register_step_kind (known kinds: {', '.join(known_kinds())})",
        )
    result = executor(planned, env, run)
    return replace(result, duration=env.clock.monotonic() - started)


def with_retry(planned: PlannedStep, env: StepEnv, once: Callable[[], StepResult]) -> StepResult:
    """Call ``once`` under the step's retry policy; the result counts the attempts."""

    def on_retry(number: int, failed: StepResult, wait: float) -> None:
        env.emit(AttemptFailed(planned.id, number, failed.reason, wait))

    outcome = retry_until_ok(
        lambda _n: once(),
        lambda r: r.ok,
        planned.retry,
        sleep=env.waits.sleep,
        clock=env.waits.monotonic,
        on_retry=on_retry,
    )
    return replace(outcome.value, attempts=outcome.attempts)


def run_command(
    env: StepEnv,
    run: RunState,
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
    point at the run it belongs to (``opsbooks report $OPSBOOKS_RUN_ID``), and
    ``env.run_env`` (who runs it, the state dir); a step's own ``env=`` wins.
    """
    run_vars = {**env.run_env, "OPSBOOKS_RUN_ID": run.run_id, "OPSBOOKS_RUNBOOK": env.plan.name}
    spec = CommandSpec(
        command=command,
        shown=shown,
        timeout=timeout,
        cwd=str(env.workdir / cwd) if cwd else str(env.workdir),
        env={**run_vars, **(env_vars or {})},
        stdin=stdin,
    )
    return env.backend.run(spec, out=env.output)


def result_of(done: CommandResult, ok_codes: tuple[int, ...], timeout: float | None) -> StepResult:
    """A command's result as a step result: its exit code against the codes that mean ok."""
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


def step_context(planned: PlannedStep, env: StepEnv, run: RunState) -> StepContext:
    """What a Python step, a callable check or a user's own kind sees of the run."""

    def run_it(command: str, *, timeout: float | None = None, check: bool = True) -> CommandResult:
        done = run_command(env, run, command, command, timeout=timeout)
        if check and not done.ok:
            raise RuntimeError(
                f"`{command}` failed with exit code {done.exit_code}: {done.tail(3)}"
            )
        return done

    return StepContext(
        run_id=run.run_id,
        step_id=planned.id,
        params=env.params if planned.own_params is None else planned.own_params,  # included
        answers=run.answers,
        outputs=host_outputs.for_context(run),  # a remote step's: host -> value
        workdir=env.workdir,
        config=env.config,
        run=run_it,
        say=env.output.say,
        extras=dict(env.extras),
    )
