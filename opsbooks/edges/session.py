"""The one entry that ``opsbooks run``, ``opsbooks resume``, the invoke tasks and the
drill harness share: check every input, then build the runner and run.

Everything that can be wrong with the input (params, answers file, journal, lock)
is found here before any step runs, and surfaces as a ``BadInput`` subclass.
"""

from __future__ import annotations

import contextlib
import getpass
import importlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from opsbooks.backends.local import LocalBackend, kill_running
from opsbooks.backends.protocols import Backend
from opsbooks.define.params import REDACTED, Params, secret_fields, secret_values, validate_params
from opsbooks.define.runbook import Runbook
from opsbooks.define.steps import Remote
from opsbooks.edges.answers import load_answers, validate_answers
from opsbooks.edges.config import Config, load_config
from opsbooks.edges.console import Console
from opsbooks.edges.discovery import Catalog, discover
from opsbooks.errors import BadInput, GateStopped, JournalError, OpsbooksError
from opsbooks.plan.binding import Plan, plan
from opsbooks.records.audit import AuditLog
from opsbooks.records.events import Event, Notice, Observer
from opsbooks.records.journal.sqlite import Journal
from opsbooks.records.redaction import Redactor
from opsbooks.render.dryrun import render_dry_run
from opsbooks.run.execute import StepEnv
from opsbooks.run.gates import (
    ChainPrompter,
    GateRequest,
    NobodyPrompter,
    Prompter,
    ScriptedPrompter,
    TerminalPrompter,
    YesPrompter,
)
from opsbooks.run.outcome import RunReport
from opsbooks.run.runner import Runner, RunOptions, new_run_id


@dataclass(frozen=True)
class Invocation:
    """What the operator asked for, before any of it is trusted."""

    runbook: str
    params: Mapping[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    yes: bool = False
    answers_file: Path | None = None
    start_at: str | None = None
    skip: tuple[str, ...] = ()
    no_rollback: bool = False
    step_mode: bool = False
    force: bool = False


@dataclass(frozen=True)
class ResumeRequest:
    run_id: str
    yes: bool = False
    answers_file: Path | None = None
    no_rollback: bool = False
    step_mode: bool = False
    force: bool = False
    mark_done: tuple[tuple[str, str], ...] = ()


@dataclass
class Surroundings:
    """The process's streams, environment and effects, read only by composition roots."""

    stdin: IO[str] = field(default_factory=lambda: sys.stdin)
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    interactive: bool | None = None
    backend: Backend | None = None
    scripted: Mapping[str, Any] | None = None
    sleep: Callable[[float], None] | None = None
    clock: Callable[[], float] | None = None
    observers: tuple[Observer, ...] = ()
    install_signal_handlers: bool = True
    extras: dict[str, Any] = field(default_factory=dict)
    injected_failures: Mapping[str, str] = field(default_factory=dict)

    def is_interactive(self) -> bool:
        if self.interactive is not None:
            return self.interactive
        try:
            return self.stdin.isatty()
        except (AttributeError, ValueError):
            return False


def approver(environ: Mapping[str, str]) -> str:
    """Who answers gates: OPSBOOKS_USER, else the git user, else the OS user."""
    if environ.get("OPSBOOKS_USER"):
        return environ["OPSBOOKS_USER"]
    try:
        found = subprocess.run(
            ["git", "config", "user.name"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            stdin=subprocess.DEVNULL,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    if found:
        return found
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def load_catalog(config: Config) -> Catalog:
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    return discover(config.packages)


def bind_params(
    runbook: type[Runbook],
    given: Mapping[str, Any],
    config: Config,
    surroundings: Surroundings,
    *,
    recorded: Mapping[str, Any] | None = None,
) -> Params:
    """Config defaults, then recorded values (resume), then flags; secrets from env or ask."""
    fields = set(runbook.Params.model_fields)
    values: dict[str, Any] = {**config.param_defaults(runbook.name, fields), **(recorded or {})}
    values.update({k: v for k, v in given.items() if v is not None})
    for name in secret_fields(runbook.Params):
        if values.get(name) not in (None, REDACTED):
            continue
        values.pop(name, None)
        from_env = surroundings.environ.get(f"OPSBOOKS_SECRET_{name.upper()}")
        if from_env:
            values[name] = from_env
        elif recorded is not None and name in recorded:
            values[name] = _ask_secret(runbook, name, surroundings)
    return validate_params(runbook.name, runbook.Params, values)


def _ask_secret(runbook: type[Runbook], name: str, surroundings: Surroundings) -> str:
    if not surroundings.is_interactive():
        raise BadInput(
            f"secret parameter {name!r} of {runbook.name} is never stored in the journal; "
            f"set OPSBOOKS_SECRET_{name.upper()} in the environment or resume from a terminal."
        )
    return getpass.getpass(f"{name} (secret, for {runbook.name}): ")


def prepare(
    invocation: Invocation, config: Config, catalog: Catalog, surroundings: Surroundings
) -> tuple[Plan, dict[str, Any]]:
    """Validate params, plan and answers; raise BadInput before anything runs."""
    runbook = catalog.get(invocation.runbook)
    params = bind_params(runbook, invocation.params, config, surroundings)
    bound = plan(runbook, params, start_at=invocation.start_at, skip=invocation.skip)
    check_hosts(bound, config)
    answers = _answers(invocation.answers_file, surroundings, bound)
    return bound, answers


def has_remote_steps(bound: Plan) -> bool:
    """Whether the plan needs SSH (then, and only then, fabric and paramiko get imported)."""
    return any(isinstance(p.step, Remote) for p in [*bound.steps, *bound.compensations.values()])


def check_hosts(bound: Plan, config: Config) -> dict[str, list[str]]:
    """Resolve remote roles, key files and host vars now, not halfway through a run."""
    if not has_remote_steps(bound):
        return {}
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.run.remote_steps import preflight

    if not config.hosts:
        raise BadInput(
            f"{bound.name} has remote steps but no hosts are configured; add a [hosts] table "
            f"to {config.source} (see docs/guides/remote-hosts.md)"
        )
    return preflight(bound, Inventory.from_config(config))


def _answers(path: Path | None, surroundings: Surroundings, bound: Plan) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    if path is not None:
        answers.update(load_answers(path))
        validate_answers(bound, answers, str(path))
    if surroundings.scripted:
        validate_answers(bound, surroundings.scripted, "the scripted answers")
        answers.update(surroundings.scripted)
    return answers


def start_run(
    invocation: Invocation,
    config: Config,
    surroundings: Surroundings,
    catalog: Catalog | None = None,
) -> RunReport | None:
    """Run a runbook (or print its dry run and return None)."""
    config = _sandbox_when_unconfigured(invocation.runbook, config, surroundings)
    catalog = catalog or load_catalog(config)
    bound, answers = prepare(invocation, config, catalog, surroundings)
    if invocation.dry_run:
        surroundings.stdout.write(render_dry_run(bound, check_hosts(bound, config)))
        return None
    _check_reachable(bound, config, surroundings)
    options = RunOptions(
        no_rollback=invocation.no_rollback, step_mode=invocation.step_mode, force=invocation.force
    )
    journal = Journal.open(_journal_url(config))
    run_id = new_run_id()
    with _runner(bound, answers, invocation.yes, config, surroundings, journal, run_id) as runner:
        return runner.start(options, run_id=run_id)


def resume_run(
    request: ResumeRequest,
    config: Config,
    surroundings: Surroundings,
    catalog: Catalog | None = None,
) -> RunReport:
    """Continue a failed, stopped or crashed run from the first step that did not succeed."""
    catalog = catalog or load_catalog(config)
    journal = Journal.open(_journal_url(config))
    record = journal.get_run(request.run_id)
    if record.outcome == "succeeded":
        raise JournalError(
            f"run {record.id} of {record.runbook} already succeeded; nothing to resume"
        )
    runbook = catalog.get(record.runbook)
    params = bind_params(runbook, {}, config, surroundings, recorded=record.params)
    opts = record.options
    bound = plan(runbook, params, start_at=opts.get("start_at"), skip=opts.get("skip") or ())
    check_hosts(bound, config)
    for step_id, _ in request.mark_done:
        if step_id not in bound.ids():
            raise BadInput(
                f"--mark-done {step_id}: {runbook.name} has no such step; its "
                f"steps are: {', '.join(bound.ids())}"
            )
    answers = _answers(request.answers_file, surroundings, bound)
    _check_reachable(bound, config, surroundings)
    options = RunOptions(
        no_rollback=request.no_rollback,
        step_mode=request.step_mode,
        force=request.force,
        mark_done=request.mark_done,
    )
    with _runner(bound, answers, request.yes, config, surroundings, journal, record.id) as runner:
        if bound.fingerprint != record.fingerprint:
            _confirm_changed_definition(runner, record.fingerprint, bound)
        return runner.resume(record.id, options)


def _sandbox_when_unconfigured(name: str, config: Config, surroundings: Surroundings) -> Config:
    """The release runbooks use a local sandbox (made once) with no configuration at all,
    or where the configuration asks for one (``release_sandbox``, as this repository does).

    Never otherwise: a project that forgot its release params gets told so, rather than
    a release that quietly happened in a sandbox.
    """
    if not name.startswith("release."):
        return config
    if config.source == "(defaults)":
        target, why = config.root / ".opsbooks" / "sandbox", "No opsbooks configuration here"
    elif config.release_sandbox:
        target = config.path(config.release_sandbox)
        why = f"{config.source} sets release_sandbox"
    else:
        return config
    try:
        sandbox = importlib.import_module("playbooks.actions.sandbox")
    except ImportError:
        return config
    if not (target / "opsbooks.toml").is_file():
        surroundings.stdout.write(f"{why}; creating a local release sandbox in {target}\n")
        sandbox.create(target)
    surroundings.stdout.write(f"Using the sandbox configuration {target / 'opsbooks.toml'}\n")
    return load_config(target)


def _check_reachable(bound: Plan, config: Config, surroundings: Surroundings) -> None:
    """An unreachable host is bad input: say so before any step runs."""
    if not has_remote_steps(bound):
        return
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.run.remote_steps import check_reachable

    for warning in check_reachable(bound, Inventory.from_config(config)):
        surroundings.stdout.write(f"  note: unreachable host {warning}\n")


def _confirm_changed_definition(runner: Runner, old: str, bound: Plan) -> None:
    request = GateRequest(
        step_id="resume:definition",
        kind="confirm",
        title="Definition changed",
        prompt=(
            f"{bound.name} changed since this run began (definition {old} -> "
            f"{bound.fingerprint}). Steps are matched by id. Resume with the new "
            f"definition?"
        ),
    )
    runner.emit(Notice(request.prompt))
    try:
        answer = runner.ask(request)  # journaled with who approved it
    except GateStopped as exc:
        raise BadInput(
            f"{exc.reason}; the definition changed, so resuming needs a yes "
            f"(--yes or `resume:definition: yes` in --answers)"
        ) from None
    if not answer.approved:
        raise BadInput("resume declined because the runbook definition changed")


def _journal_url(config: Config) -> str:
    url = config.journal_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_absolute():
        return f"sqlite:///{config.path(url.removeprefix('sqlite:///'))}"
    return url


@contextmanager
def _runner(
    bound: Plan,
    answers: Mapping[str, Any],
    yes: bool,
    config: Config,
    surroundings: Surroundings,
    journal: Journal,
    run_id: str,
) -> Iterator[Runner]:
    who = approver(surroundings.environ)
    redactor = Redactor(secret_values(bound.params), config.secret_patterns)
    console = Console(surroundings.stdout, redactor)
    audit = AuditLog(config.state_path / "runs" / f"{run_id}.jsonl", run_id, redactor)
    prompters: list[Prompter] = [ScriptedPrompter(answers, who, source="answers")]
    if yes:
        prompters.append(YesPrompter(who))
    if surroundings.is_interactive():
        prompters.append(TerminalPrompter(surroundings.stdin, surroundings.stdout, who))
    else:
        prompters.append(NobodyPrompter())
    env = StepEnv(
        run_id=run_id,
        plan=bound,
        backend=surroundings.backend or LocalBackend(),
        console=console,
        emit=lambda _e: None,
        config=config,
        workdir=config.root,
        ask=lambda _p: None,  # type: ignore[arg-type,return-value]
        extras=surroundings.extras,
        injected_failures=surroundings.injected_failures,
        redact=redactor.text,
    )
    if surroundings.sleep is not None:
        env.sleep = surroundings.sleep
    if surroundings.clock is not None:
        env.clock = surroundings.clock
    stop = _StopFlag()

    def to_audit(event: Event) -> None:
        audit.write(event.name, **event.fields())

    runner = Runner(
        env=env,
        prompter=ChainPrompter(prompters),
        journal=journal,
        redactor=redactor,
        who=who,
        observers=(to_audit, console, *surroundings.observers),
        stop_requested=stop.requested,
        abandon_requested=stop.abandoned,
    )
    env.ask = runner.ask_gate
    env.emit = runner.emit
    if has_remote_steps(bound):
        from opsbooks.run.remote_steps import remote_hook

        env.remote = remote_hook(config, journal, runner.ask)
    try:
        with stop.installed(surroundings.install_signal_handlers):
            yield runner
    finally:
        journal.set_audit_head(run_id, audit.head)
        audit.close()


def _tell(text: str) -> None:
    """Write to stderr from a signal handler; after a hangup there may be no terminal."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)
        sys.stderr.flush()


class _StopFlag:
    """SIGINT, SIGTERM and SIGHUP ask the runner to stop at the next step boundary."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self.abandon = False

    def requested(self) -> str | None:
        return self.signal_name

    def abandoned(self) -> bool:
        return self.abandon

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if self.signal_name == name == "SIGINT":
            self.abandon = True
            killed = kill_running()
            _tell(
                f"\nSIGINT again: abandoning the current step ({killed} command(s) killed); "
                f"resume will ask whether it completed.\n"
            )
            return
        self.signal_name = name
        _tell(
            f"\n{name} received: stopping after the current step "
            f"(press Ctrl-C again to abandon it).\n"
        )

    @contextmanager
    def installed(self, enabled: bool) -> Iterator[None]:
        import threading

        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        wanted = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {s: signal.signal(s, self._handle) for s in wanted}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def exit_code_of(report: RunReport | None) -> int:
    return 0 if report is None else report.exit_code


def describe_error(exc: OpsbooksError) -> str:
    return str(exc)
