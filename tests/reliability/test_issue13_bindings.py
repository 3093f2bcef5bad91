"""Issue 13, items 7-10: outputs bound per host, only declared outputs, Remote retry,
local paths against the project root. Fast tier: fakes only."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.rollout import HostResult
from opsbooks.define.remote import Download, Remote, Upload
from opsbooks.errors import DefinitionError
from opsbooks.plan.binding import plan, with_outputs
from opsbooks.records.events import AttemptFailed, Notice
from opsbooks.records.journal import HostRecord
from opsbooks.records.redaction import Redactor
from opsbooks.run import kinds
from opsbooks.run.execute import execute
from opsbooks.run.remote_steps import RemoteSteps
from opsbooks.run.state import RunState
from opsbooks.run.stepping import StepRunner
from opsbooks.testing import FakeClock
from opsbooks.testing.fakes import FakeBackend, FakeHosts, HostCall, fake_env

HOSTS = {"web1": {"roles": ["web"]}, "web2": {"roles": ["web"]}}


class Journal:
    def __init__(self) -> None:
        self.records: list[HostRecord] = []

    def record_host(self, record: HostRecord) -> None:
        self.records.append(record)

    def record_hosts(self, records: Sequence[HostRecord]) -> None:
        self.records.extend(records)

    def host_results(self, run_id: str, step_id: str | None = None) -> list[HostRecord]:
        return [r for r in self.records if step_id in (None, r.step_id)]


class Book(ob.Runbook):
    """Bindings."""

    name = "t.bind"
    scope = "x"
    owner = "me"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        token: str = "tok"
        where: str = "sub dir"

    find = ob.Command("echo", outputs=("target",))
    run_it = Remote("deploy {outputs.target} {host.name}", role="web", retry=ob.Retry(3, wait=5))
    push = Upload("art/{outputs.target}.tgz", "/srv/{outputs.target}.tgz", role="web")
    pull = Download("/srv/{outputs.target}.log", "logs/{host.name}.log", role="web")
    local = ob.Command("true", env={"TOKEN": "{token}-{outputs.target}"}, cwd="{where}")


def _remote(planned_id: str, hosts: FakeHosts, tmp: Path, clock: FakeClock | None = None) -> Any:
    bound = plan(Book, Book.Params())
    events: list[Any] = []
    steps = RemoteSteps(
        Inventory.parse(HOSTS), Journal(), ask=lambda *a: None, executor_factory=lambda _i: hosts
    )
    env = fake_env(bound, hosts=steps, workdir=tmp, events=events, clock=clock)
    run = RunState("r1", outputs={"target": "v2"})
    planned = with_outputs(bound.get(planned_id), bound.params, run.outputs)
    return steps(planned, env, run), events


def test_item7_outputs_reach_each_host_bound(tmp_path: Path) -> None:
    hosts = FakeHosts()
    result, _ = _remote("run_it", hosts, tmp_path)
    assert result.ok
    assert sorted(c.command for c in hosts.calls) == ["deploy v2 web1", "deploy v2 web2"]
    _remote("push", hosts, tmp_path)
    _remote("pull", hosts, tmp_path)
    transfers = [c.command for c in hosts.calls if c.action in ("put", "get")]
    assert f"put {tmp_path}/art/v2.tgz /srv/v2.tgz" in transfers
    assert f"get /srv/v2.log {tmp_path}/logs/web1.log" in transfers
    assert not any("{" in c for c in transfers)


def test_item7_command_env_and_cwd_are_bound(tmp_path: Path) -> None:
    bound = plan(Book, Book.Params())
    planned = with_outputs(bound.get("local"), bound.params, {"target": "v2"})
    backend = FakeBackend()
    env = fake_env(bound, backend=backend, workdir=tmp_path)
    assert kinds._command(planned, env, RunState("r1")).ok
    spec = backend.specs[-1]
    assert spec.env["TOKEN"] == "tok-v2"
    assert spec.cwd == str(tmp_path / "sub dir")


def test_item8_only_the_declaring_step_sets_an_output(tmp_path: Path) -> None:
    class Out(ob.Runbook):
        """Outputs."""

        name = "t.out"
        scope = "x"
        owner = "me"
        last_reviewed = "2026-11-01"

        find = ob.Command("printf '::output target=good\\n'", outputs=("target",))
        hostile = ob.Command("printf '::output target=evil\\n'")
        use = ob.Command("echo {outputs.target}")

    class Rows:
        def record(self, *args: Any, **kwargs: Any) -> None:
            pass

    bound = plan(Out, Out.Params())
    events: list[Any] = []
    answers = {
        "target=good": (0, "::output target=good\n"),
        "target=evil": (0, "::output target=evil\n"),
    }
    env = fake_env(bound, events=events, backend=FakeBackend(answers=answers))
    stepper = StepRunner(env, Rows(), Redactor([]), execute, events.append, lambda: False, 60.0)  # type: ignore[arg-type]
    run = RunState("r1")
    for index, step_id in enumerate(["find", "hostile"]):
        stepper.run(bound.get(step_id), run, index, 3)
    assert run.outputs == {"target": "good"}
    assert any(isinstance(e, Notice) and "ignored" in e.message for e in events)


def test_item9_remote_retry_retries_only_the_failed_host(tmp_path: Path) -> None:
    tries: dict[str, int] = {}

    def flaky(call: HostCall) -> HostResult | None:
        tries[call.host] = tries.get(call.host, 0) + 1
        if call.host == "web2" and tries[call.host] < 3:
            return HostResult(call.host, "failed", exit_code=1)
        return None

    clock = FakeClock()
    result, events = _remote("run_it", FakeHosts(flaky), tmp_path, clock)
    assert result.ok and result.attempts == 3
    assert tries == {"web1": 1, "web2": 3}
    assert clock.sleeps == [5.0, 5.0]
    assert [e.attempt for e in events if isinstance(e, AttemptFailed)] == [1, 2]


def test_item9_remote_outputs_are_per_host_so_a_local_template_is_refused() -> None:
    # issue 14 finished item 9: a Remote step's outputs are kept per host (see
    # tests/run/test_host_outputs.py); a local template cannot pick one host's value
    with pytest.raises(DefinitionError, match="one value per host"):

        class Bad(ob.Runbook):
            """Bad."""

            name = "t.bad"
            scope = "x"
            owner = "me"
            last_reviewed = "2026-11-01"
            grab = Remote("cat /etc/version", role="web", outputs=("version",))
            use = ob.Command("echo {outputs.version}")


class Env(ob.Runbook):
    """Environ."""

    name = "t.environ"
    scope = "x"
    owner = "me"
    last_reviewed = "2026-11-01"

    show = ob.Command('printf "%s" "$DRILL_VALUE" > seen.txt')


@pytest.mark.slow  # a Drill runs sh
def test_item10_drill_environ_reaches_commands(tmp_path: Path) -> None:
    from opsbooks.testing import Drill

    result = Drill(tmp_path, packages=(), runbooks=(Env,), environ={"DRILL_VALUE": "hi"}).run(Env)
    assert result.report.outcome.value == "succeeded"
    assert (tmp_path / "seen.txt").read_text() == "hi"
