"""Carry out ``Remote`` steps for the runner: resolve the role, roll the command out,
journal each host, and on resume or undo touch only the hosts that need it.

Hosts that succeeded in an earlier attempt of the same run are skipped, so a resume
re-runs a rolling step only where it did not succeed; the undo of a remote step
runs only on the hosts where the step succeeded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from opsbooks.backends.hosts.actions import step_action
from opsbooks.backends.hosts.inventory import Host, Inventory, bound_for_host
from opsbooks.backends.hosts.targets import targets
from opsbooks.backends.protocols import HostBackend
from opsbooks.backends.rollout import Attempt, HostResult, RolloutOptions, explained, roll_out
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.define.params import Params, param_values
from opsbooks.define.policies import human
from opsbooks.define.specs import RemoteSpec
from opsbooks.errors import BadInput, HostsUnreachable
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.late import run_env, run_values
from opsbooks.records.events import AttemptFailed, HostFinished, Notice
from opsbooks.records.journal import HostRecord
from opsbooks.run import host_outputs
from opsbooks.run.execute import StepEnv
from opsbooks.run.gates import GateAnswer, GateRequest
from opsbooks.run.notes import host_note
from opsbooks.run.outcome import StepResult
from opsbooks.run.remote_checks import checking, is_check
from opsbooks.run.retrying import retry_until_ok
from opsbooks.run.state import RunState


def target_key(spec: RemoteSpec) -> str:
    """How ``preflight``'s answer names a step's target: its role, or its hosts list."""
    return spec.hosts or spec.role


def resolve(planned: PlannedStep, inventory: Inventory) -> list[Host]:
    """The hosts of a remote step; a name the inventory lacks is bad input naming the step."""
    try:
        return targets(inventory, planned.spec)
    except BadInput as exc:
        raise BadInput(f"step {planned.id}: {exc}") from None


def preflight(plan: Plan, inventory: Inventory) -> dict[str, list[str]]:
    """Resolve every remote step's role (or hosts) and check keys and host vars before
    anything runs; the answer maps each target (``target_key``) to its host names."""
    roles: dict[str, list[str]] = {}
    for planned in [*plan.steps, *plan.compensations.values()]:
        item = planned.spec
        if isinstance(item, RemoteSpec):
            hosts = resolve(planned, inventory)
            inventory.preflight(hosts, [item.command, *([item.cwd] if item.cwd else [])])
            roles[target_key(item)] = [h.name for h in hosts]
    return roles


def check_reachable(
    plan: Plan,
    inventory: Inventory,
    executor_factory: Callable[[Inventory], HostBackend] = RemoteExecutor,
) -> list[str]:
    """Connect to every host the plan uses before any step runs.

    Refuse (``HostsUnreachable``) when a role has more unreachable hosts than its
    strictest remote step tolerates; otherwise return a note per unreachable host and
    per host key the probe trusted (``trust_new_hosts``).
    """
    tolerance: dict[str, int] = {}
    members_of: dict[str, list[Host]] = {}
    workers = 1
    for planned in plan.steps:
        item = planned.spec
        if isinstance(item, RemoteSpec) and not planned.skip_reason:
            key = target_key(item)
            members_of[key] = resolve(planned, inventory)
            allowed = RolloutOptions.for_step(item).threshold.allowed(len(members_of[key]))
            tolerance[key] = min(tolerance.get(key, allowed), allowed)
            workers = max(workers, item.workers)
    if not tolerance:
        return []
    hosts = {h.name: h for role in tolerance for h in members_of[role]}
    backend = executor_factory(inventory)
    # as many at once as the most parallel step runs (not a fixed 10: at 50 hosts that
    # was five rounds of handshakes before the first step)
    probe = roll_out(
        list(hosts.values()),
        backend.probe,
        RolloutOptions(strategy="parallel", max_failures="100%", workers=workers),
    )
    down = {r.host: r.error or f"exit {r.exit_code}" for r in probe.results if not r.ok}
    problems: list[str] = []
    warnings: list[str] = []
    for role, allowed in tolerance.items():
        members = [h.name for h in members_of[role]]
        failing = [name for name in members if name in down]
        lines = [f"{name} ({hosts[name].target}): {down[name]}" for name in failing]
        if len(failing) > allowed:
            problems.append(
                f"role {role!r}: {len(failing)} of {len(members)} host(s) "
                f"unreachable, {allowed} tolerated:\n    " + "\n    ".join(lines)
            )
        else:
            warnings.extend(
                f"unreachable host {line} (tolerated by role {role!r})" for line in lines
            )
    if problems:
        raise HostsUnreachable(plan.name, problems)
    # a key accepted by the probe (trust_new_hosts) is known by the time a step runs:
    # this is the only moment to say so
    warnings.extend(
        f"trusted a new host key for {r.host}: {r.trusted_key}"
        for r in probe.results
        if r.trusted_key
    )
    return warnings


def _retrying(
    planned: PlannedStep,
    env: StepEnv,
    attempt: Attempt,
    retried: dict[str, list[tuple[int, str, float]]],
) -> Attempt:
    """``attempt`` under the step's ``retry``, per host: only a host that failed is tried
    again, with the policy's waits through ``env.waits``. Each failed attempt is noted in
    ``retried[host]`` (reported from the main thread, as the host finishes)."""
    policy = planned.retry
    if policy is None or policy.attempts <= 1:
        return attempt
    lock = threading.Lock()

    def on_host(host: Host) -> HostResult:
        def note(number: int, failed: HostResult, wait: float) -> None:
            why = failed.error or f"exit code {failed.exit_code}"
            with lock:
                retried.setdefault(host.name, []).append((number, env.redact(why), wait))

        return retry_until_ok(
            lambda _n: attempt(host),
            lambda r: r.ok,
            policy,
            sleep=env.waits.sleep,
            clock=env.waits.monotonic,
            on_retry=note,
        ).value

    return on_host


def _on_host(
    backend: HostBackend,
    planned: PlannedStep,
    env: StepEnv,
    run: RunState,
    published: dict[str, dict[str, str]],
) -> Attempt:
    """What the step does on one host: bound with that host's outputs, its declared
    outputs collected into ``published``, a failure explained in the host's own words."""
    item: RemoteSpec = planned.spec
    # a host's command may name answers and the run; it sees OPSBOOKS_RUN_ID/_RUNBOOK
    params = run_values(param_values(own_params(planned, env)), run, env.plan.name)
    item = replace(item, env={**run_env(run, env.plan.name), **item.env})
    if item.check == "wait" and item.poll is not None and item.timeout_seconds is None:
        item = replace(item, timeout_seconds=item.poll.timeout)  # a hung check: not forever
    lock = threading.Lock()

    def attempt(host: Host) -> HostResult:
        absent = host_outputs.missing_for(host.name, planned.uses_outputs, run)
        if absent:
            why = (
                f"output {absent[0]!r} has no value for {host.name}: the remote step that "
                f"publishes it did not run there"
            )
            return HostResult(host.name, "failed", error=why, error_kind="error")
        values = host_outputs.values_for(host.name, params, run)
        done = step_action(backend, item, values, workdir=env.workdir)(host)
        done, found = host_outputs.collect(item.outputs, done)
        if found:
            with lock:
                published[host.name] = found
        return explained(done)

    return attempt


def own_params(planned: PlannedStep, env: StepEnv) -> Params:
    """The params a step binds with: an included step's own, else the plan's."""
    return env.params if planned.own_params is None else planned.own_params


class HostJournal(Protocol):
    """What remote steps need of the journal: each host's result, as it finishes.

    Recorded host by host (not at the end of the step) so that a crash mid-roll-out
    leaves the hosts already done on record, and resume skips them.
    """

    def record_host(self, record: HostRecord) -> None: ...

    def record_hosts(self, records: Sequence[HostRecord]) -> None: ...

    def host_results(self, run_id: str, step_id: str | None = None) -> list[HostRecord]: ...


@dataclass(frozen=True)
class RemoteSteps:
    """The ``StepEnv.remote`` hook: runs a planned ``Remote`` step over its role's hosts."""

    inventory: Inventory
    journal: HostJournal
    ask: Callable[[GateRequest, RunState], GateAnswer]
    executor_factory: Callable[[Inventory], HostBackend] = RemoteExecutor

    def __call__(self, planned: PlannedStep, env: StepEnv, run: RunState) -> StepResult:
        item: RemoteSpec = planned.spec
        hosts = resolve(planned, self.inventory)
        # outputs of earlier steps bind per host, like params ({outputs.NAME}); an output
        # a remote step published per host binds to this host's own value
        params = run_values(param_values(own_params(planned, env)), run, env.plan.name)
        undoing = planned.compensation and planned.undo_of is not None
        fresh = undoing or is_check(item)  # a check on hosts is read-only: check them all
        skip = set() if fresh else self._in_place(run.run_id, planned.id, planned.undo)[0]
        if undoing:
            hosts = self._to_undo(env, run, planned, hosts)
        if skip:
            env.emit(
                Notice(
                    f"{planned.id}: already done on {', '.join(sorted(skip))}; "
                    f"running on the other hosts only",
                    planned.id,
                )
            )

        def on_start(host: Host) -> None:
            values = host_outputs.values_for(host.name, params, run)
            if not host_outputs.missing_for(host.name, planned.uses_outputs, run):
                shown = bound_for_host(item.command, host, values).shown
                env.output.say(f"    host {host.name}: $ {shown}")
            host_note(env, planned, host, values)  # a note naming {host.*}: per host

        retried: dict[str, list[tuple[int, str, float]]] = {}

        def on_hosts(results: list[HostResult]) -> None:
            """Journal the hosts that finished together in one transaction, then report
            each: the records are durable before anything is said about them."""
            done = [r for r in results if r.attempted]
            outputs = {
                r.host: env.redact((r.stdout_tail + "\n" + r.stderr_tail).strip()) for r in done
            }
            records = [
                HostRecord(
                    run_id=run.run_id,
                    step_id=planned.id,
                    host=r.host,
                    ok=r.ok,
                    exit_code=r.exit_code,
                    duration=r.duration,
                    output_tail=outputs[r.host],
                    error=env.redact(r.error or ""),
                    at=env.clock.wall(),
                )
                for r in done
            ]
            if records:
                self.journal.record_hosts(records)
            for result in done:
                report(result, outputs[result.host])

        def report(result: HostResult, output: str) -> None:
            for number, why, wait in retried.get(result.host, []):
                env.emit(AttemptFailed(planned.id, number, f"{result.host}: {why}", wait))
            env.emit(
                HostFinished(
                    planned.id,
                    result.host,
                    result.ok,
                    result.exit_code,
                    result.duration,
                    env.redact(result.error or ""),
                    "" if planned.quiet else output,
                )
            )
            if result.trusted_key:
                env.emit(
                    Notice(
                        f"trusted a new host key for {result.host}: {result.trusted_key}",
                        planned.id,
                    )
                )

        def between_batches(number: int, results: list[HostResult]) -> bool:
            if item.pause_seconds is not None:  # a timed wait, through the injected clock
                wait = item.pause_seconds
                note = f"{planned.id}: batch {number} done; waiting {human(wait)} before the next"
                env.emit(Notice(note, planned.id))
                env.waits.sleep(wait)
                return True
            answer = self.ask(
                GateRequest(
                    step_id=f"{planned.id}:batch{number}",
                    kind="confirm",
                    title=f"{planned.title}: batch {number} done",
                    prompt=f"Batch {number} finished ({sum(r.ok for r in results)} ok of "
                    f"{len(results)}). Continue the roll-out?",
                ),
                run,
            )
            return bool(answer.approved)

        published: dict[str, dict[str, str]] = {}
        attempt = _on_host(self.executor_factory(self.inventory), planned, env, run, published)
        lock = threading.Lock()

        def polled(host: str, number: int, why: str, wait: float) -> None:
            with lock:  # a worker thread: reported by on_host, from the main thread
                retried.setdefault(host, []).append((number, why, wait))

        attempt = checking(item, env, attempt, polled)
        pausing = item.pause_between_batches or item.pause_seconds is not None
        outcome = roll_out(
            hosts,
            _retrying(planned, env, attempt, retried),
            self._rollout_options(item, undoing=undoing),
            between_batches=between_batches if pausing else None,
            skip_hosts=skip,
            on_start=on_start,
            on_hosts=on_hosts,
        )
        summary = outcome.summary()
        detail = {"hosts": {r.host: r.status for r in outcome.results}}
        # an undo tolerates failures to reach every host, but held only if all held
        ok = all(r.ok for r in outcome.results if r.attempted) if undoing else outcome.ok
        attempts = 1 + max((len(v) for v in retried.values()), default=0)
        return StepResult(
            ok=ok,
            output=summary,
            reason="" if ok else summary,
            detail=detail,
            attempts=attempts,
            host_published=published,
        )

    @staticmethod
    def _rollout_options(item: RemoteSpec, *, undoing: bool) -> RolloutOptions:
        """An undo is best effort: it goes on to every host, whatever fails on one."""
        options = RolloutOptions.for_step(item)
        return replace(options, max_failures="100%", canary=False) if undoing else options

    def _to_undo(
        self, env: StepEnv, run: RunState, planned: PlannedStep, hosts: list[Host]
    ) -> list[Host]:
        """Hosts where the forward step's effect is in place, or may be (it half-ran there
        and declares ``undo_on_failure``)."""
        forward = env.plan.get(planned.undo_of or "")
        in_place, half_ran = self._in_place(run.run_id, forward.id, planned.id)
        wanted = in_place | (half_ran if forward.undo_on_failure else set())
        return [h for h in hosts if h.name in wanted]

    def _in_place(
        self, run_id: str, step_id: str, undo_id: str | None
    ) -> tuple[set[str], set[str]]:
        return in_place(self.journal.host_results(run_id), step_id, undo_id)

    def host_names(self, planned: PlannedStep) -> list[str]:
        """The names of ``planned``'s hosts, in roll-out order (for node-first sections)."""
        return [h.name for h in resolve(planned, self.inventory)]


def in_place(
    records: list[HostRecord], step_id: str, undo_id: str | None
) -> tuple[set[str], set[str]]:
    """(hosts where ``step_id``'s effect is in place, hosts where it half-ran).

    Read from the host records in journal order: a host's success adds it, a
    success of the step's undo on that host takes it away again (so a resume after
    a rollback runs the step again there), and a failure since marks it half-ran.
    """
    placed: set[str] = set()
    half_ran: set[str] = set()
    for record in records:
        if record.step_id == step_id:
            (placed if record.ok else half_ran).add(record.host)
            (half_ran if record.ok else placed).discard(record.host)
        elif undo_id is not None and record.step_id == undo_id and record.ok:
            placed.discard(record.host)
            half_ran.discard(record.host)
    return placed, half_ran
