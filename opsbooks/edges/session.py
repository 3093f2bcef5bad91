"""The one entry that ``opsbooks run``, ``opsbooks resume``, the invoke tasks and the
drill harness share: check every input, then build the runner and run.

Everything that can be wrong with the input (params, answers file, journal, lock)
is found here before any step runs, and surfaces as a ``BadInput`` subclass.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsbooks.backends.local import LocalBackend
from opsbooks.backends.notify import Channel, ChannelNotifier
from opsbooks.backends.protocols import HostBackend
from opsbooks.define.params import secret_values
from opsbooks.edges.anchoring import (
    AuditedEvents,
    announce_head,
    final_anchor,
    run_audit,
)
from opsbooks.edges.approvals import approval_waiter
from opsbooks.edges.become import executor_factory
from opsbooks.edges.clock import SystemClock
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog, discover
from opsbooks.edges.hooks import describe as describe_hooks
from opsbooks.edges.hooks import load_hooks
from opsbooks.edges.identity import LocalIdentity
from opsbooks.edges.leases import Heartbeat
from opsbooks.edges.limits import check_argv_lengths
from opsbooks.edges.liveness import (
    ProcessLog,
    check_crashed_holder,
    check_not_live,
    check_orphans,
    procs_path,
)
from opsbooks.edges.operator import approver
from opsbooks.edges.preflight import (
    answers_for,
    bind_params,
    check_channels,
    check_hosts,
    check_kinds,
    check_reachable,
    check_selected_outputs,
    has_remote_steps,
    succeeded_steps,
)
from opsbooks.edges.prepare import check_params, prepare_resume, prepare_run
from opsbooks.edges.requests import Invocation, ResumeRequest, Surroundings
from opsbooks.edges.resuming import (
    check_mark_done,
    check_resumable,
    superseded_by,
    superseded_question,
)
from opsbooks.edges.screen import targets_of
from opsbooks.edges.signals import StopFlag
from opsbooks.edges.subruns import ChildLauncher
from opsbooks.edges.taint import check_tainted_outputs
from opsbooks.edges.terminal import console_for, prompters
from opsbooks.errors import BadInput, GateStopped, OpsbooksError
from opsbooks.plan.binding import Plan, plan
from opsbooks.records.events import Notice
from opsbooks.records.journal import Journal, open_journal
from opsbooks.records.redaction import Redactor
from opsbooks.run import kinds as _builtin_kinds  # noqa: F401  (registers the executors)
from opsbooks.run.execute import HostSteps, StepEnv, execute
from opsbooks.run.gates import (
    ChainPrompter,
    GateRequest,
)
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.run.policies import AskBeforeEachStep, FailurePolicy, every_step
from opsbooks.run.questions import Questions
from opsbooks.run.reconcile import reconcile
from opsbooks.run.runner import Runner, new_run_id
from opsbooks.run.selection import tags_of

if TYPE_CHECKING:
    from opsbooks.backends.ssh.pool import ConnectionPool

__all__ = [
    "Invocation",
    "ResumeRequest",
    "Surroundings",
    "SystemClock",
    "bind_params",
    "check_hosts",
    "journal_url",
    "load_catalog",
    "prepare",
    "resume_run",
    "start_run",
]


def load_catalog(config: Config) -> Catalog:
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    return discover(config.packages, config.exclude)


def prepare(
    invocation: Invocation, config: Config, catalog: Catalog, surroundings: Surroundings
) -> tuple[Plan, dict[str, Any]]:
    """Validate params, plan and answers; raise BadInput before anything runs."""
    runbook = catalog.get(invocation.runbook)
    params = bind_params(runbook, invocation.params, config, surroundings)
    check_params(runbook, params, config)  # the runbook's own check against the config
    options = invocation.options
    bound = plan(runbook, params, start_at=options.start_at, skip=options.skip, **tags_of(options))
    check_kinds(bound)
    check_selected_outputs(bound)
    check_hosts(bound, config)
    check_argv_lengths(bound, params.model_dump())
    answers = answers_for(options.answers, surroundings, bound)
    check_channels(bound, config, surroundings, dry_run=options.dry_run)  # and escalations
    return bound, answers


def start_run(
    invocation: Invocation,
    config: Config,
    surroundings: Surroundings,
    catalog: Catalog | None = None,
) -> RunReport | None:
    """Run a runbook (or print its dry run and return None)."""
    catalog = catalog or load_catalog(config)
    config = prepare_run(
        catalog.get(invocation.runbook),
        config,
        _say(surroundings),
        dry_run=invocation.options.dry_run,
    )
    bound, answers = prepare(invocation, config, catalog, surroundings)
    options = invocation.options
    if options.dry_run:
        found = load_hooks(config, bound, runbook=catalog.get(bound.name))  # a bad one: exit 2
        hooks = describe_hooks(found)
        from opsbooks.render.dryrun import render_dry_run  # lazy: only a dry run renders

        surroundings.stdout.write(render_dry_run(bound, check_hosts(bound, config)) + hooks)
        return None
    kept = check_reachable(bound, config, surroundings)  # the probe's SSH connections
    with kept or nullcontext():
        journal = _journal(config)
        check_crashed_holder(journal, bound.name, config.state_path, LocalIdentity())
        run_id = new_run_id((surroundings.clock or SystemClock()).wall())
        with _runner(
            bound, answers, options, config, surroundings, journal, run_id, catalog, kept
        ) as runner:
            return runner.start(options, run_id=run_id)


def resume_run(
    request: ResumeRequest,
    config: Config,
    surroundings: Surroundings,
    catalog: Catalog | None = None,
) -> RunReport:
    """Continue a failed, stopped or crashed run from the first step that did not succeed."""
    catalog = catalog or load_catalog(config)
    journal = _journal(config)
    record = journal.get_run(request.run_id)
    check_resumable(record)
    check_not_live(journal, record, LocalIdentity(), force=request.options.force)
    check_orphans(journal, record, ProcessLog(procs_path(config.state_path, record.id)))
    runbook = catalog.get(record.runbook)
    config = prepare_resume(runbook, config, _say(surroundings))
    params = bind_params(runbook, {}, config, surroundings, recorded=record.params)
    opts = record.options
    bound = plan(
        runbook, params, start_at=opts.get("start_at"), skip=opts.get("skip") or (), **tags_of(opts)
    )
    check_kinds(bound)
    check_hosts(bound, config)
    options = request.options
    reconciled = reconcile(journal, bound, record)  # a read: written once all checks pass
    check_mark_done(journal, record, bound, options, reconciled.states)
    check_selected_outputs(bound, succeeded_steps(reconciled.states), resuming=True)
    check_tainted_outputs(journal, record, bound)
    answers = answers_for(options.answers, surroundings, bound)
    check_channels(bound, config, surroundings)
    kept = check_reachable(bound, config, surroundings)  # the probe's SSH connections
    with (
        kept or nullcontext(),
        _runner(
            bound, answers, options, config, surroundings, journal, record.id, catalog, kept
        ) as runner,
    ):
        if bound.fingerprint != record.fingerprint:
            _confirm_changed_definition(runner, record.id, record.fingerprint, bound)
        newer = superseded_by(journal, record)
        if newer is not None:
            _confirm(runner, record.id, superseded_question(record, newer), "a newer run succeeded")
        return runner.resume(record.id, options, reconciled)


def _say(surroundings: Surroundings) -> Callable[[str], None]:
    """A line to the operator on the run's console stream (for prepare_project hooks)."""

    def say(text: str) -> None:
        surroundings.stdout.write(f"{text}\n")

    return say


def _confirm_changed_definition(runner: Runner, run_id: str, old: str, bound: Plan) -> None:
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
    _confirm(runner, run_id, request, "the definition changed")


def _confirm(runner: Runner, run_id: str, request: GateRequest, why: str) -> None:
    """Ask before resuming; no yes (no terminal, no --yes, no answer) is a refusal."""
    runner.emit(Notice(request.prompt))
    try:
        answer = runner.ask(request, run_id)  # journaled with who approved it
    except GateStopped as exc:
        raise BadInput(
            f"{exc.reason}; {why}, so resuming needs a yes "
            f"(--yes or `{request.step_id}: yes` in --answers)"
        ) from None
    if not answer.approved:
        raise BadInput(f"resume declined because {why}")


def _journal(config: Config) -> Journal:
    """The run's journal: its locks are leases of ``journal_lease`` seconds."""
    return open_journal(journal_url(config), identity=LocalIdentity(), lease=config.journal_lease)


def journal_url(config: Config) -> str:
    url = config.journal_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_absolute():
        return f"sqlite:///{config.path(url.removeprefix('sqlite:///'))}"
    return url


@contextmanager
def _runner(
    bound: Plan,
    answers: Mapping[str, Any],
    options: RunOptions,
    config: Config,
    surroundings: Surroundings,
    journal: Journal,
    run_id: str,
    catalog: Catalog,
    kept: ConnectionPool | None = None,
) -> Iterator[Runner]:
    """Build the runner once, with every dependency; nothing is patched in afterwards."""
    # a bad plugin is a ConfigError before any step; included runbooks bring their hooks
    hooks = load_hooks(config, bound, runbook=catalog.get(bound.name))
    who = approver(surroundings.environ)
    identity = LocalIdentity()
    redactor = Redactor(secret_values(bound.params), config.secret_patterns)
    console = console_for(
        surroundings.stdout,
        redactor,
        surroundings.environ,
        purpose=bound.info.purpose,
        no_color=options.no_color,
        targets=lambda: targets_of(bound, check_hosts(bound, config)),
    )
    audit = run_audit(journal, run_id, config.state_path / "runs" / f"{run_id}.jsonl", redactor)
    events = AuditedEvents(audit, (console, *surroundings.observers))
    emit = events.emit
    stop = StopFlag()
    clock = surroundings.clock or SystemClock()
    questions = Questions(
        plan=bound,
        prompter=ChainPrompter(
            prompters(answers, options.yes, surroundings, who, redactor, console)
        ),
        journal=journal,
        redactor=redactor,
        who=who,
        clock=clock,
        emit=emit,
        stop_requested=stop.requested,
        approvals=approval_waiter(
            config, bound, journal, who, surroundings.waits or clock, console.say, emit
        ),
    )
    env = StepEnv(
        plan=bound,
        backend=surroundings.backend
        or LocalBackend(
            base_env=surroundings.environ,
            watcher=ProcessLog(procs_path(config.state_path, run_id)),
        ),
        output=console,
        notifier=ChannelNotifier(
            {"default": Channel(), **config.notify}, resolve=config.path, say=console.say
        ),
        clock=clock,
        waits=surroundings.waits or clock,
        workdir=config.root,
        emit=emit,
        ask=questions.ask_step,
        hosts=_host_steps(
            bound,
            config,
            journal,
            questions,
            surroundings.hosts,
            executor_factory(bound, config, surroundings, redactor, kept),
        ),
        config=config.model_dump(),
        extras=surroundings.extras,
        redact=redactor.text,
        children=ChildLauncher(catalog, config, surroundings, journal, options, who),
        run_env={"OPSBOOKS_OPERATOR": who, "OPSBOOKS_STATE_DIR": str(config.state_path.resolve())},
        config_source=config.source,
    )
    runner = Runner(
        env=env,
        questions=questions,
        journal=journal,
        redactor=redactor,
        who=who,
        host=identity.name(),
        pid=identity.pid(),
        emit=emit,
        before_step=AskBeforeEachStep(questions.ask) if options.step_mode else every_step,
        on_failure=FailurePolicy(rollback=not options.no_rollback),
        revisit_continued=options.step_mode,
        execute=surroundings.intercept(execute) if surroundings.intercept else execute,
        stop_requested=stop.requested,
        abandon_requested=stop.abandoned,
        hooks=hooks,
        recorded=events.recorded,  # a step's transition and its audit anchor: one commit
    )
    beat = Heartbeat(
        journal_url(config), bound.name, run_id, lease=config.journal_lease, identity=identity
    )
    try:
        with stop.installed(surroundings.install_signal_handlers), beat:
            yield runner
    finally:
        console.close()  # the live region, if any, ends before the last lines
        final_anchor(journal, run_id, audit)
        audit.close()
        announce_head(audit, config, console)  # the external anchor


def _host_steps(
    bound: Plan,
    config: Config,
    journal: Journal,
    questions: Questions,
    hosts: HostBackend | None,
    ssh: Callable[..., HostBackend] | None = None,
) -> HostSteps | None:
    """Remote steps' runner, only for plans that have some (fabric is imported lazily)."""
    if not has_remote_steps(bound):
        return None
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.run.remote_steps import RemoteSteps

    inventory = Inventory.from_config(config)
    if hosts is None and ssh is not None:  # holding the run's sudo password
        return RemoteSteps(inventory, journal, questions.ask, executor_factory=ssh)
    if hosts is None:
        return RemoteSteps(inventory, journal, questions.ask)
    return RemoteSteps(inventory, journal, questions.ask, executor_factory=lambda _: hosts)


def exit_code_of(report: RunReport | None) -> int:
    return 0 if report is None else report.exit_code


def describe_error(exc: OpsbooksError) -> str:
    return str(exc)
