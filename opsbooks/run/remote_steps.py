"""Carry out ``Remote`` steps for the runner: resolve the role, roll the command out,
journal each host, and on resume or undo touch only the hosts that need it.

Hosts that succeeded in an earlier attempt of the same run are skipped, so a resume
re-runs a rolling step only where it did not succeed; the undo of a remote step
runs only on the hosts where the step succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from opsbooks.backends.hosts.actions import step_action
from opsbooks.backends.hosts.inventory import Host, Inventory, bound_for_host
from opsbooks.backends.protocols import HostBackend
from opsbooks.backends.rollout import HostResult, RolloutOptions, roll_out
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.define.params import param_values
from opsbooks.define.specs import RemoteSpec
from opsbooks.errors import HostsUnreachable
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.records.events import HostFinished, Notice
from opsbooks.records.journal import HostRecord
from opsbooks.run.execute import StepEnv
from opsbooks.run.gates import GateAnswer, GateRequest
from opsbooks.run.outcome import StepResult
from opsbooks.run.state import RunState


def preflight(plan: Plan, inventory: Inventory) -> dict[str, list[str]]:
    """Resolve every remote step's role and check keys and host vars before anything runs."""
    roles: dict[str, list[str]] = {}
    for planned in [*plan.steps, *plan.compensations.values()]:
        item = planned.spec
        if isinstance(item, RemoteSpec):
            hosts = inventory.hosts_for(item.role)
            inventory.preflight(hosts, [item.command])
            roles[item.role] = [h.name for h in hosts]
    return roles


def check_reachable(
    plan: Plan,
    inventory: Inventory,
    executor_factory: Callable[[Inventory], HostBackend] = RemoteExecutor,
) -> list[str]:
    """Connect to every host the plan uses before any step runs.

    Refuse (``HostsUnreachable``) when a role has more unreachable hosts than its
    strictest remote step tolerates; otherwise return a warning per unreachable host.
    """
    tolerance: dict[str, int] = {}
    for planned in plan.steps:
        item = planned.spec
        if isinstance(item, RemoteSpec) and not planned.skip_reason:
            total = len(inventory.hosts_for(item.role))
            allowed = RolloutOptions.for_step(item).threshold.allowed(total)
            tolerance[item.role] = min(tolerance.get(item.role, allowed), allowed)
    if not tolerance:
        return []
    hosts = {h.name: h for role in tolerance for h in inventory.hosts_for(role)}
    backend = executor_factory(inventory)
    probe = roll_out(
        list(hosts.values()),
        backend.probe,
        RolloutOptions(strategy="parallel", max_failures="100%"),
    )
    down = {r.host: r.error or f"exit {r.exit_code}" for r in probe.results if not r.ok}
    problems: list[str] = []
    warnings: list[str] = []
    for role, allowed in tolerance.items():
        members = [h.name for h in inventory.hosts_for(role)]
        failing = [name for name in members if name in down]
        lines = [f"{name} ({hosts[name].target}): {down[name]}" for name in failing]
        if len(failing) > allowed:
            problems.append(
                f"role {role!r}: {len(failing)} of {len(members)} host(s) "
                f"unreachable, {allowed} tolerated:\n    " + "\n    ".join(lines)
            )
        else:
            warnings.extend(f"{line} (tolerated by role {role!r})" for line in lines)
    if problems:
        raise HostsUnreachable(plan.name, problems)
    return warnings


def has_remote_steps(plan: Plan) -> bool:
    return any(isinstance(p.spec, RemoteSpec) for p in plan.all_steps())


class HostJournal(Protocol):
    """What remote steps need of the journal: each host's result, as it finishes.

    Recorded host by host (not at the end of the step) so that a crash mid-roll-out
    leaves the hosts already done on record, and resume skips them.
    """

    def record_host(self, record: HostRecord) -> None: ...

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
        hosts = self.inventory.hosts_for(item.role)
        values = param_values(env.params)
        skip = self._done_hosts(run.run_id, planned.id)
        if planned.compensation and planned.undo_of:
            succeeded = self._done_hosts(run.run_id, planned.undo_of)
            hosts = [h for h in hosts if h.name in succeeded]
        if skip:
            env.emit(
                Notice(
                    f"{planned.id}: already done on {', '.join(sorted(skip))}; "
                    f"running on the other hosts only",
                    planned.id,
                )
            )

        def on_start(host: Host) -> None:
            shown = bound_for_host(item.command, host, values).shown
            env.output.say(f"    host {host.name}: $ {shown}")

        def on_host(result: HostResult) -> None:
            if not result.attempted:
                return
            output = env.redact((result.stdout_tail + "\n" + result.stderr_tail).strip())
            self.journal.record_host(
                HostRecord(
                    run_id=run.run_id,
                    step_id=planned.id,
                    host=result.host,
                    ok=result.ok,
                    exit_code=result.exit_code,
                    duration=result.duration,
                    output_tail=output,
                    error=env.redact(result.error or ""),
                    at=env.clock.wall(),
                )
            )
            env.emit(
                HostFinished(
                    planned.id,
                    result.host,
                    result.ok,
                    result.exit_code,
                    result.duration,
                    result.error or "",
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

        backend = self.executor_factory(self.inventory)
        outcome = roll_out(
            hosts,
            step_action(backend, item, values),
            RolloutOptions.for_step(item),
            between_batches=between_batches if item.pause_between_batches else None,
            skip_hosts=skip,
            on_start=on_start,
            on_host=on_host,
        )
        summary = outcome.summary()
        detail = {"hosts": {r.host: r.status for r in outcome.results}}
        return StepResult(
            ok=outcome.ok, output=summary, reason="" if outcome.ok else summary, detail=detail
        )

    def _done_hosts(self, run_id: str, step_id: str) -> set[str]:
        latest: dict[str, bool] = {}
        for record in self.journal.host_results(run_id, step_id):
            latest[record.host] = record.ok
        return {host for host, ok in latest.items() if ok}
