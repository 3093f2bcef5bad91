"""Roll-outs over five real sshd hosts: each strategy, thresholds, canary, crash, resume."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from remote_helpers import STANDARD, fail_on, rollout, runs

from opsbooks.backends.hosts.actions import step_action
from opsbooks.backends.hosts.inventory import Host, Inventory, bind_for_host
from opsbooks.backends.rollout import HostResult, RolloutOptions, roll_out
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.testing.sshd import SshdCluster

pytestmark = pytest.mark.slow


def standard(host: Host) -> str:
    return bind_for_host(STANDARD, host)


def test_parallel_runs_every_host_at_once(inventory: Inventory, executor: RemoteExecutor) -> None:
    hosts = inventory.hosts_for("web")
    started = time.monotonic()
    result = rollout(
        executor,
        hosts,
        lambda h: bind_for_host("sleep 1; echo {host.name} $(id -un)", h),
        RolloutOptions(strategy="parallel"),
    )
    elapsed = time.monotonic() - started
    assert result.ok and result.succeeded == [h.name for h in hosts]
    assert [r.stdout_tail for r in result.results] == [f"{h.name} root" for h in hosts]
    assert all(r.exit_code == 0 and r.duration >= 1 for r in result.results)
    assert elapsed < 4.5, f"5 hosts sleeping 1s in parallel took {elapsed:.1f}s"


def test_serial_stops_when_failures_exceed_max_failures(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    fail_on(work, "web2", "web3")
    options = RolloutOptions(strategy="serial", max_failures=1)
    result = rollout(executor, inventory.hosts_for("web"), standard, options)
    assert result.stop_reason == "threshold"
    assert result.succeeded == ["web1"]
    assert result.failed == ["web2", "web3"]
    assert result.not_attempted == ["web4", "web5"]
    assert [runs(work, n) for n in ("web1", "web2", "web3", "web4", "web5")] == [1, 1, 1, 0, 0]
    failed = result.result("web2")
    assert failed.exit_code == 1 and failed.error_kind == "exit"


def test_serial_with_max_failures_zero_stops_at_the_first_failing_host(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    fail_on(work, "web2")
    result = rollout(executor, inventory.hosts_for("web"), standard, RolloutOptions())
    assert result.failed == ["web2"]
    assert result.not_attempted == ["web3", "web4", "web5"]
    assert runs(work, "web3") == 0


def test_batches_of_two_with_a_percentage_threshold(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    fail_on(work, "web2", "web3")
    hosts = inventory.hosts_for("web")
    strict = RolloutOptions(strategy="batches", batch_size=2, max_failures="25%")
    result = rollout(executor, hosts, standard, strict)
    assert result.stop_reason == "threshold"
    assert result.failed == ["web2", "web3"]
    assert result.not_attempted == ["web5"]
    assert runs(work, "web4") == 1 and runs(work, "web5") == 0

    loose = RolloutOptions(strategy="batches", batch_size=2, max_failures="40%")
    result = rollout(executor, hosts, standard, loose)
    assert result.ok and result.failed == ["web2", "web3"]
    assert runs(work, "web5") == 1


def test_a_failing_canary_stops_the_rollout(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    fail_on(work, "web1")
    options = RolloutOptions(strategy="parallel", canary=True, max_failures=2)
    result = rollout(executor, inventory.hosts_for("web"), standard, options)
    assert result.stop_reason == "canary"
    assert result.failed == ["web1"]
    assert result.not_attempted == ["web2", "web3", "web4", "web5"]
    assert sum(runs(work, f"web{i}") for i in range(2, 6)) == 0


def test_operator_gate_between_batches_can_stop(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    answers: list[int] = []

    def gate(number: int, results: list[HostResult]) -> bool:
        answers.append(number)
        assert all(r.ok for r in results)
        return number == 1

    options = RolloutOptions(strategy="batches", batch_size=2, canary=True)
    result = rollout(executor, inventory.hosts_for("web"), standard, options, between_batches=gate)
    assert answers == [1, 2]
    assert result.stop_reason == "operator"
    assert result.succeeded == ["web1", "web2", "web3"]
    assert result.not_attempted == ["web4", "web5"]


def test_a_host_killed_mid_rollout_is_reported_failed(
    cluster: SshdCluster, inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    started_flag = work / "web3.started"
    crashers: list[threading.Thread] = []

    def crash_when_running() -> None:
        # Kill only once the command runs: killing a session in its shell's startup
        # files could leave their locks behind on this machine.
        deadline = time.monotonic() + 20
        while not started_flag.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        cluster.kill("web3")

    def on_start(host: Host) -> None:
        if host.name == "web3":
            crashers.append(threading.Thread(target=crash_when_running))
            crashers[-1].start()

    started = time.monotonic()
    result = rollout(
        executor,
        inventory.hosts_for("web"),
        lambda h: f"touch {started_flag}; sleep 30" if h.name == "web3" else "sleep 2",
        RolloutOptions(strategy="parallel", max_failures=1),
        on_start=on_start,
    )
    for crasher in crashers:
        crasher.join()
    assert started_flag.exists()
    assert time.monotonic() - started < 20
    assert result.ok and result.failed == ["web3"]
    crashed = result.result("web3")
    assert crashed.error_kind == "disconnected", crashed
    assert "lost" in (crashed.error or "")
    assert not cluster.is_alive("web3")


def test_resume_reruns_only_the_hosts_that_did_not_succeed(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    fail_on(work, "web3")
    hosts = inventory.hosts_for("web")
    options = RolloutOptions(strategy="serial")
    first = rollout(executor, hosts, standard, options)
    assert first.succeeded == ["web1", "web2"] and first.failed == ["web3"]
    assert first.not_attempted == ["web4", "web5"]

    (work / "web3.fail").unlink()  # the operator fixed web3
    second = rollout(executor, hosts, standard, options, skip_hosts=set(first.succeeded))
    assert second.ok
    assert second.skipped == ["web1", "web2"]
    assert second.succeeded == ["web3", "web4", "web5"]
    assert [runs(work, f"web{i}") for i in range(1, 6)] == [1, 1, 2, 1, 1]


def test_progress_callbacks_report_each_host(inventory: Inventory, work: Path) -> None:
    events: list[str] = []
    fail_on(work, "web2")
    rollout(
        RemoteExecutor(inventory),
        inventory.hosts_for("web")[:3],
        standard,
        RolloutOptions(max_failures=1),
        on_start=lambda h: events.append(f"start {h.name}"),
        on_host=lambda r: events.append(f"{r.status} {r.host}"),
    )
    assert events == ["start web1", "ok web1", "start web2", "failed web2", "start web3", "ok web3"]


def test_a_remote_step_caps_its_concurrent_hosts_with_workers(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    """Each host records when it started and ended; never more than 2 overlap."""
    from opsbooks.define.remote import Remote

    step = Remote(
        "date +%s.%N > {host.counter}.start; sleep 0.6; date +%s.%N > {host.counter}.end",
        role="web", strategy="parallel", workers=2,
    )  # fmt: skip
    hosts = inventory.hosts_for("web")
    result = roll_out(hosts, step_action(executor, step), RolloutOptions.for_step(step))
    assert result.ok, result.summary()
    spans = [
        (float((work / f"{h.name}.count.start").read_text()),
         float((work / f"{h.name}.count.end").read_text()))
        for h in hosts
    ]  # fmt: skip
    overlap = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert overlap == 2, spans


def test_a_session_keeps_one_connection_for_a_hosts_calls(
    inventory: Inventory, executor: RemoteExecutor, tmp_path: Path
) -> None:
    """SSH_CONNECTION names the client port: the same within a session, new without."""
    host = inventory.hosts_for("web")[0]
    show = "echo $SSH_CONNECTION"
    apart = {executor.run(host, show).stdout_tail for _ in range(2)}
    assert len(apart) == 2
    local = tmp_path / "x.txt"
    local.write_text("payload")
    with executor.session(host):
        first = executor.run(host, show)
        assert executor.put(host, local, str(tmp_path / "copy.txt")).ok
        failed = executor.run(host, "exit 3")
        second = executor.run(host, show)
    assert failed.exit_code == 3
    assert first.ok and first.stdout_tail == second.stdout_tail
    assert executor.run(host, show).stdout_tail != first.stdout_tail  # closed with the block
