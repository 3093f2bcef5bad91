"""Roll-outs and remote steps against ``FakeHosts``: the rules and the run-layer logic, no SSH."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from opsbooks import Download, Field, Params, Remote, Runbook, Upload, plan
from opsbooks.backends.hosts.actions import command_action, step_action
from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.protocols import HostBackend
from opsbooks.backends.rollout import HostResult, RolloutOptions, roll_out
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.records.events import Event, HostFinished, Notice
from opsbooks.records.journal.records import HostRecord
from opsbooks.run.gates import GateAnswer, GateRequest
from opsbooks.run.remote_steps import HostsUnreachable, RemoteSteps, check_reachable
from opsbooks.run.state import RunState
from opsbooks.testing.fakes import FakeHosts, HostCall, fake_env

NAMES = ["web1", "web2", "web3", "web4", "web5"]
INVENTORY = Inventory.parse(
    {name: {"address": f"10.0.0.{i}", "roles": ["web"]} for i, name in enumerate(NAMES, 1)}
)
HOSTS = INVENTORY.hosts_for("web")


def test_fake_hosts_is_a_host_backend() -> None:
    backend: HostBackend = FakeHosts()
    assert backend.probe(HOSTS[0]).ok


def roll(fake: FakeHosts, step: Remote, **values: str) -> list[str]:
    """Roll ``step`` out over the five hosts; return the hosts that were called."""
    roll_out(HOSTS, step_action(fake, step, values), RolloutOptions.for_step(step))
    return fake.hosts


def test_a_command_is_bound_per_host_and_run_everywhere_in_parallel() -> None:
    fake = FakeHosts(output={"web2": "v2\n"})
    step = Remote("deploy {version} --dc {host.name}", role="web", strategy="parallel")
    result = roll_out(
        HOSTS, step_action(fake, step, {"version": "1 2"}), RolloutOptions.for_step(step)
    )
    assert result.ok and result.succeeded == NAMES
    assert fake.ran("web3") == ["deploy '1 2' --dc web3"]
    assert result.result("web2").stdout_tail == "v2"


def test_serial_stops_at_the_first_failure_and_leaves_the_rest_unattempted() -> None:
    fake = FakeHosts(fail={"web2": 3})
    step = Remote("true", role="web")
    result = roll_out(HOSTS, step_action(fake, step), RolloutOptions.for_step(step))
    assert fake.hosts == ["web1", "web2"]
    assert result.stop_reason == "threshold"
    assert result.result("web2").exit_code == 3 and result.result("web2").error_kind == "exit"
    assert result.not_attempted == ["web3", "web4", "web5"]


def test_unreachable_hosts_count_as_failures_within_max_failures() -> None:
    fake = FakeHosts(unreachable={"web4"})
    step = Remote("true", role="web", strategy="batches", batch_size=2, max_failures=1)
    result = roll_out(HOSTS, step_action(fake, step), RolloutOptions.for_step(step))
    assert result.ok and result.failed == ["web4"]
    assert result.result("web4").error_kind == "connect"
    assert fake.hosts == NAMES


def test_batches_stop_once_the_share_of_failures_is_exceeded() -> None:
    fake = FakeHosts(fail={"web1": 1, "web3": 1})
    step = Remote("true", role="web", strategy="batches", batch_size=2, max_failures="20%")
    result = roll_out(HOSTS, step_action(fake, step), RolloutOptions.for_step(step))
    assert result.stop_reason == "threshold"
    assert fake.hosts == ["web1", "web2", "web3", "web4"]
    assert result.not_attempted == ["web5"]


def test_a_failing_canary_stops_whatever_the_threshold() -> None:
    fake = FakeHosts(fail={"web1": 1})
    step = Remote("true", role="web", strategy="parallel", canary=True, max_failures=4)
    assert roll(fake, step) == ["web1"]


def test_hosts_already_done_are_skipped() -> None:
    fake = FakeHosts()
    step = Remote("true", role="web", strategy="parallel")
    result = roll_out(
        HOSTS, step_action(fake, step), RolloutOptions.for_step(step), skip_hosts={"web1", "web4"}
    )
    assert sorted(fake.hosts) == ["web2", "web3", "web5"]
    assert result.skipped == ["web1", "web4"] and result.ok


def test_transfers_put_and_get_with_paths_bound_per_host() -> None:
    fake = FakeHosts()
    push = Upload("dist/app-{version}.tgz", "/opt/{host.name}/app.tgz", role="web")
    pull = Download("/var/log/{host.name}.log", "logs/{host.name} {version}.log", role="web")
    roll_out(HOSTS[:1], step_action(fake, push, {"version": "2"}), RolloutOptions())
    roll_out(HOSTS[:1], step_action(fake, pull, {"version": "2"}), RolloutOptions())
    assert fake.ran("web1", "put") == ["put dist/app-2.tgz /opt/web1/app.tgz"]
    assert fake.ran("web1", "get") == ["get /var/log/web1.log logs/web1 2.log"]


def test_a_handler_scripts_single_calls() -> None:
    def handler(call: HostCall) -> HostResult | None:
        if call.host == "web2" and "migrate" in call.command:
            return HostResult("web2", "failed", exit_code=None, error="timed out", timed_out=True)
        return None

    fake = FakeHosts(handler)
    attempt = command_action(fake, lambda h: f"migrate {h.name}", timeout=5)
    result = roll_out(HOSTS[:3], attempt, RolloutOptions(strategy="parallel", max_failures=1))
    assert result.ok and result.failed == ["web2"] and result.result("web2").timed_out
    assert {c.timeout for c in fake.calls} == {5}


# -- the run layer's remote steps, over FakeHosts ----------------------------------------


class Fleet(Runbook):
    """Roll a marker out to the web hosts, one at a time."""

    name = "fleet.mark"
    scope = "unit tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(Params):
        label: str = Field(description="what each host records")

    deploy = Remote("mark {label} on {host.name}", role="web", undo="retract")
    retract = Remote("unmark {host.name}", role="web")
    waves = Remote(
        "wave {host.name}", role="web", strategy="batches", batch_size=2, pause_between_batches=True
    )


class Journal:
    """Just what remote steps need of a journal: host results by run and step."""

    def __init__(self, *done: tuple[str, str, bool]) -> None:
        self.records = [
            HostRecord("run-1", step, host, ok, 0, 0.0, "", "", 0.0) for step, host, ok in done
        ]

    def record_host(self, record: HostRecord) -> None:
        self.records.append(record)

    def record_hosts(self, records: Sequence[HostRecord]) -> None:
        self.records.extend(records)

    def host_results(self, run_id: str, step_id: str | None = None) -> list[HostRecord]:
        return [r for r in self.records if r.run_id == run_id and step_id in (None, r.step_id)]


def fleet_plan() -> Plan:
    return plan(Fleet, Fleet.Params(label="v2"))


def run_step(
    planned: PlannedStep,
    fake: FakeHosts,
    journal: Journal,
    *,
    approve: bool = True,
    events: list[Event] | None = None,
) -> tuple[bool, str]:
    def ask(request: GateRequest, run: RunState) -> GateAnswer:
        return GateAnswer(approve, "tester", "scripted", 0.0, 0.0)

    steps = RemoteSteps(INVENTORY, journal, ask, executor_factory=lambda _inventory: fake)
    env = fake_env(fleet_plan(), hosts=steps, events=events)
    result = steps(planned, env, RunState("run-1"))
    return result.ok, result.output


def test_a_remote_step_journals_every_host_it_ran_on() -> None:
    fake, journal, events = FakeHosts(fail={"web3": 1}), Journal(), []
    ok, summary = run_step(fleet_plan().get("deploy"), fake, journal, events=events)
    assert not ok and "web3 failed: exit code 1 on web3" in summary
    assert [(r.host, r.ok) for r in journal.records] == [
        ("web1", True),
        ("web2", True),
        ("web3", False),
    ]
    assert [e.host for e in events if isinstance(e, HostFinished)] == ["web1", "web2", "web3"]
    assert fake.ran("web1") == ["mark v2 on web1"]


def test_resume_runs_only_where_the_step_did_not_succeed() -> None:
    fake, events = FakeHosts(), []
    journal = Journal(("deploy", "web1", True), ("deploy", "web2", True), ("deploy", "web3", False))
    ok, _ = run_step(fleet_plan().get("deploy"), fake, journal, events=events)
    assert ok and fake.hosts == ["web3", "web4", "web5"]
    notices = [e.message for e in events if isinstance(e, Notice)]
    assert any("already done on web1, web2" in n for n in notices)


def test_undo_runs_only_where_the_step_succeeded() -> None:
    fake = FakeHosts()
    journal = Journal(("deploy", "web1", True), ("deploy", "web2", True), ("deploy", "web3", False))
    undo = replace(fleet_plan().compensations["retract"], undo_of="deploy")
    ok, _ = run_step(undo, fake, journal)
    assert ok and fake.hosts == ["web1", "web2"]
    assert fake.ran("web2") == ["unmark web2"]


def test_an_operator_declining_between_batches_stops_the_roll_out() -> None:
    fake = FakeHosts()
    ok, summary = run_step(fleet_plan().get("waves"), fake, Journal(), approve=False)
    assert not ok and "stopped by the operator" in summary
    assert fake.hosts == ["web1", "web2"]


def test_unreachable_hosts_beyond_what_a_step_tolerates_refuse_the_run() -> None:
    fake = FakeHosts(unreachable={"web2"})
    with pytest.raises(HostsUnreachable, match=r"role 'web': 1 of 5 host\(s\) unreachable"):
        check_reachable(fleet_plan(), INVENTORY, lambda _inventory: fake)
    assert sorted(c.host for c in fake.calls if c.action == "probe") == NAMES


def test_unreachable_hosts_within_the_tolerance_only_warn(tmp_path: Path) -> None:
    class Tolerant(Runbook):
        """Tolerates two hosts down."""

        name = "fleet.tolerant"
        scope = "unit tests"
        owner = "sre"
        last_reviewed = dt.date(2026, 11, 1)
        push = Remote("true", role="web", strategy="parallel", max_failures=2)

    fake = FakeHosts(unreachable={"web2", "web5"})
    warnings = check_reachable(plan(Tolerant), INVENTORY, lambda _inventory: fake)
    assert len(warnings) == 2 and "web2 (10.0.0.2): cannot connect" in warnings[0]
