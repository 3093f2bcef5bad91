"""Carry out ``Remote`` steps for the runner: resolve the role, roll the command out,
journal each host, and on resume or undo touch only the hosts that need it.

Hosts that succeeded in an earlier attempt of the same run are skipped, so a resume
re-runs a rolling step only where it did not succeed; the undo of a remote step
runs only on the hosts where the step succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from opsbooks.backends.hosts.inventory import Host, Inventory, bound_for_host
from opsbooks.backends.rollout import HostResult, RolloutOptions
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.define.params import param_values
from opsbooks.define.steps import Remote
from opsbooks.edges.config import Config
from opsbooks.errors import BadInput
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.records.events import HostFinished, Notice
from opsbooks.records.journal.sqlite import HostRecord, Journal
from opsbooks.run.execute import StepEnv
from opsbooks.run.gates import GateAnswer, GateRequest
from opsbooks.run.outcome import StepResult


def preflight(plan: Plan, inventory: Inventory) -> dict[str, list[str]]:
    """Resolve every remote step's role and check keys and host vars before anything runs."""
    roles: dict[str, list[str]] = {}
    for planned in [*plan.steps, *plan.compensations.values()]:
        item = planned.step
        if isinstance(item, Remote):
            hosts = inventory.hosts_for(item.role)
            inventory.preflight(hosts, [item.command])
            roles[item.role] = [h.name for h in hosts]
    return roles


class HostsUnreachable(BadInput):
    """More hosts of a role cannot be reached than its remote steps tolerate."""


def check_reachable(
    plan: Plan,
    inventory: Inventory,
    executor_factory: Callable[[Inventory], RemoteExecutor] = RemoteExecutor,
) -> list[str]:
    """Connect to every host the plan uses before any step runs.

    Refuse (``HostsUnreachable``) when a role has more unreachable hosts than its
    strictest remote step tolerates; otherwise return a warning per unreachable host.
    """
    tolerance: dict[str, int] = {}
    for planned in plan.steps:
        item = planned.step
        if isinstance(item, Remote) and not planned.skip_reason:
            total = len(inventory.hosts_for(item.role))
            allowed = RolloutOptions.for_step(item).threshold.allowed(total)
            tolerance[item.role] = min(tolerance.get(item.role, allowed), allowed)
    if not tolerance:
        return []
    hosts = {h.name: h for role in tolerance for h in inventory.hosts_for(role)}
    executor = executor_factory(inventory)
    probe = executor.rollout(
        list(hosts.values()),
        lambda _h: "true",
        RolloutOptions(
            strategy="parallel", max_failures="100%", timeout=inventory.ssh.connect_timeout
        ),
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
        raise HostsUnreachable(
            f"{plan.name} cannot start; nothing was run:\n  " + "\n  ".join(problems) + "\n"
            "Check that the hosts are up and their address, port, user and key in the "
            "hosts configuration, or take them out of the role."
        )
    return warnings


def has_remote_steps(plan: Plan) -> bool:
    return any(isinstance(p.step, Remote) for p in [*plan.steps, *plan.compensations.values()])


@dataclass
class RemoteSteps:
    """The ``StepEnv.remote`` hook: runs a planned ``Remote`` step over its role's hosts."""

    inventory: Inventory
    journal: Journal
    ask: Callable[[GateRequest], GateAnswer]
    executor_factory: Callable[[Inventory], RemoteExecutor] = RemoteExecutor

    def __call__(self, planned: PlannedStep, env: StepEnv) -> StepResult:
        item = planned.step
        assert isinstance(item, Remote)
        hosts = self.inventory.hosts_for(item.role)
        values = param_values(env.params)
        skip = self._done_hosts(env.run_id, planned.id)
        undo_of = env.extras.get("undo_of")
        if planned.compensation and isinstance(undo_of, str):
            succeeded = self._done_hosts(env.run_id, undo_of)
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
            env.console.say(f"    host {host.name}: $ {shown}")

        def on_host(result: HostResult) -> None:
            if not result.attempted:
                return
            output = env.redact((result.stdout_tail + "\n" + result.stderr_tail).strip())
            self.journal.record_host(
                HostRecord(
                    run_id=env.run_id,
                    step_id=planned.id,
                    host=result.host,
                    ok=result.ok,
                    exit_code=result.exit_code,
                    duration=result.duration,
                    output_tail=output,
                    error=env.redact(result.error or ""),
                    at=time.time(),
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
                )
            )
            return bool(answer.approved)

        executor = self.executor_factory(self.inventory)
        outcome = executor.rollout_with(
            hosts,
            executor.action_for(item, values),
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


def remote_hook(
    config: Config, journal: Journal, ask: Callable[[GateRequest], GateAnswer]
) -> RemoteSteps:
    return RemoteSteps(Inventory.from_config(config), journal, ask)
