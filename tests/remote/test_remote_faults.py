"""Per-host faults against real sshd: host keys, unreachable, auth, key files, timeouts."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from remote_helpers import STANDARD, InventoryFactory, rollout, runs

from opsbooks.backends.hosts.inventory import Host, Inventory, bind_for_host
from opsbooks.backends.rollout import RolloutOptions
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.testing.sshd import SshdCluster

pytestmark = pytest.mark.slow


def standard(host: Host) -> str:
    return bind_for_host(STANDARD, host)


def fingerprint_of(line: str) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-lf", "-"], input=line, capture_output=True, text=True, check=True
    )
    return out.stdout.split()[1]


def test_unknown_host_keys_are_rejected_by_default(
    make_inventory: InventoryFactory, work: Path, tmp_path: Path, cluster: SshdCluster
) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    inventory = make_inventory(known_hosts=str(empty))
    result = rollout(
        RemoteExecutor(inventory),
        inventory.hosts_for("web"),
        standard,
        RolloutOptions(strategy="parallel", max_failures=5),
    )
    assert result.failed == cluster.names
    web1 = result.result("web1")
    assert web1.error_kind == "unknown_hostkey"
    assert fingerprint_of(cluster.host("web1").host_key_line) in (web1.error or "")
    assert "trust_new_hosts" in (web1.error or "")
    assert sum(runs(work, n) for n in cluster.names) == 0
    assert empty.read_text() == ""


def test_trusting_new_hosts_is_explicit_and_recorded(
    make_inventory: InventoryFactory, work: Path, tmp_path: Path, cluster: SshdCluster
) -> None:
    known = tmp_path / "fresh" / "known_hosts"
    inventory = make_inventory(known_hosts=str(known), trust_new_hosts=True)
    hosts = inventory.hosts_for("web")
    first = rollout(RemoteExecutor(inventory), hosts, standard, RolloutOptions(strategy="parallel"))
    assert first.ok and first.succeeded == cluster.names
    for name in cluster.names:
        line = cluster.host(name).host_key_line
        assert first.result(name).trusted_key == f"ssh-ed25519 {fingerprint_of(line)}"
    saved = known.read_text()
    for host in cluster.hosts:
        assert f"[127.0.0.1]:{host.port} {host.host_key_line}" in saved

    strict = RemoteExecutor(inventory, trust_new_hosts=False)
    second = rollout(strict, hosts, standard, RolloutOptions(strategy="parallel"))
    assert second.ok and all(r.trusted_key is None for r in second.results)


def test_a_changed_host_key_is_rejected_even_when_trusting_new_hosts(
    make_inventory: InventoryFactory, work: Path, tmp_path: Path, cluster: SshdCluster
) -> None:
    web1, web2 = cluster.host("web1"), cluster.host("web2")
    forged = tmp_path / "forged_known_hosts"
    forged.write_text(f"[127.0.0.1]:{web1.port} {web2.host_key_line}\n")
    inventory = make_inventory(known_hosts=str(forged), trust_new_hosts=True)
    result = RemoteExecutor(inventory).run(inventory.host("web1"), "touch {}".format(work / "x"))
    assert result.status == "failed" and result.error_kind == "hostkey"
    error = result.error or ""
    assert fingerprint_of(web2.host_key_line) in error  # expected
    assert fingerprint_of(web1.host_key_line) in error  # got
    assert "ssh-keygen -R" in error
    assert not (work / "x").exists()
    assert forged.read_text().count("\n") == 1


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and then never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_unreachable_hosts_fail_within_the_connect_timeout(
    cluster: SshdCluster, closed_port: int, silent_port: int, tmp_path: Path
) -> None:
    base = cluster.inventory_config(roles=["web"])
    hosts = {
        "refused": {**base["hosts"]["web1"], "port": closed_port},
        "silent": {**base["hosts"]["web1"], "port": silent_port},
        "web2": base["hosts"]["web2"],
    }
    inventory = Inventory.parse(hosts, {**base["ssh"], "connect_timeout": 1.5})
    started = time.monotonic()
    result = rollout(
        RemoteExecutor(inventory),
        inventory.hosts_for("web"),
        lambda h: "true",
        RolloutOptions(strategy="parallel", max_failures=2),
    )
    assert time.monotonic() - started < 6
    assert result.ok and result.succeeded == ["web2"]
    refused, silent = result.result("refused"), result.result("silent")
    assert refused.error_kind == "connect" and "refused" in (refused.error or "")
    assert f"127.0.0.1:{closed_port}" in (refused.error or "")
    assert silent.error_kind in ("connect", "ssh"), silent
    assert silent.duration < 4


def test_wrong_key_is_an_authentication_failure(
    make_inventory: InventoryFactory, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    inventory = make_inventory()
    host = inventory.host("web1").model_copy(update={"key_file": str(stranger)})
    result = RemoteExecutor(inventory).run(host, "true")
    assert result.error_kind == "auth"
    assert str(stranger) in (result.error or "") and "authorized_keys" in (result.error or "")


def test_a_missing_key_file_fails_the_host_without_connecting(
    make_inventory: InventoryFactory, tmp_path: Path
) -> None:
    inventory = make_inventory()
    host = inventory.host("web1").model_copy(update={"key_file": str(tmp_path / "nope")})
    result = RemoteExecutor(inventory).run(host, "true")
    assert result.error_kind == "keyfile" and "nope" in (result.error or "")
    assert result.duration < 0.5


def _alive(pattern: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return found.stdout.split()


def test_a_timed_out_command_is_killed_on_the_host(inventory: Inventory, work: Path) -> None:
    pidfile = work / "pid"
    marker = "sleep 313"
    command = f"echo $$ > {pidfile}; trap '' TERM; {marker}; echo survived > {work / 'after'}"
    executor = RemoteExecutor(inventory, kill_after=1)
    started = time.monotonic()
    result = executor.run(inventory.host("web1"), command, timeout=1.5)
    elapsed = time.monotonic() - started
    assert result.timed_out and result.error_kind == "timeout", result
    assert "killed" in (result.error or "")
    assert elapsed < 8
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while (_alive(marker) or Path(f"/proc/{pid}").exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(marker) == [], "the remote sleep outlived its timeout"
    assert not Path(f"/proc/{pid}").exists()
    assert not (work / "after").exists()


def test_a_timeout_on_one_host_counts_against_the_threshold(
    inventory: Inventory,
) -> None:
    executor = RemoteExecutor(inventory, kill_after=1)
    options = RolloutOptions(strategy="serial", max_failures=0, timeout=1)
    result = rollout(
        executor,
        inventory.hosts_for("web"),
        lambda h: "sleep 30" if h.name == "web2" else "true",
        options,
    )
    assert result.stop_reason == "threshold"
    assert result.succeeded == ["web1"] and result.failed == ["web2"]
    assert result.result("web2").timed_out
    assert result.not_attempted == ["web3", "web4", "web5"]


def test_a_key_trusted_before_a_failed_login_is_still_reported(
    make_inventory: InventoryFactory, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)], check=True)
    known = tmp_path / "new_known_hosts"
    inventory = make_inventory(known_hosts=str(known), trust_new_hosts=True)
    host = inventory.host("web1").model_copy(update={"key_file": str(stranger)})
    result = RemoteExecutor(inventory).run(host, "true")
    assert result.error_kind == "auth"
    assert result.trusted_key is not None and result.trusted_key.startswith("ssh-ed25519 SHA256:")
    assert known.read_text().count("\n") == 1


def test_hashed_known_hosts_entries_are_honoured(
    make_inventory: InventoryFactory, cluster: SshdCluster, tmp_path: Path
) -> None:
    hashed = tmp_path / "hashed_known_hosts"
    hashed.write_text(cluster.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert "[127.0.0.1]" not in hashed.read_text()
    inventory = make_inventory(known_hosts=str(hashed))
    result = RemoteExecutor(inventory).run(inventory.host("web2"), "true")
    assert result.ok, result


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A real ssh-agent for this test only; yields its socket path."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        yield sock
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_keys_in_the_agent_are_used_when_no_key_file_is_set(
    cluster: SshdCluster, agent: Path
) -> None:
    base = cluster.inventory_config(roles=["web"])
    hosts = {"web1": {**base["hosts"]["web1"], "key_file": None}}
    without = Inventory.parse(hosts, {**base["ssh"], "use_agent": True})
    assert RemoteExecutor(without).run(without.host("web1"), "true").error_kind == "auth"

    subprocess.run(
        ["ssh-add", str(cluster.client_key)],
        check=True,
        capture_output=True,
        env={"SSH_AUTH_SOCK": str(agent), "PATH": "/usr/bin:/bin"},
    )
    result = RemoteExecutor(without).run(without.host("web1"), "echo via agent")
    assert result.ok and result.stdout_tail == "via agent", result
    no_agent = Inventory.parse(hosts, {**base["ssh"], "use_agent": False})
    assert RemoteExecutor(no_agent).run(no_agent.host("web1"), "true").error_kind == "auth"
