"""What reaches the host: quoted values, secrets, files, and ssh config resolution."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from pydantic import SecretStr
from remote_helpers import InventoryFactory, rollout

from opsbooks.backends.hosts.inventory import Host, Inventory, bind_for_host, bound_for_host
from opsbooks.backends.rollout import RolloutOptions, roll_out
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.testing.sshd import SshdCluster

pytestmark = pytest.mark.slow

NASTY = 'it\'s "quoted" $(touch {pwned}) `touch {pwned}` ; touch {pwned} & $HOME \\ {{x}}'


def test_host_vars_reach_the_host_as_data(make_inventory: InventoryFactory, work: Path) -> None:
    pwned = work / "pwned"
    value = NASTY.format(pwned=pwned)
    inventory = make_inventory(extra_vars={"web1": {"note": value}, "web2": {"note": "plain"}})
    hosts = inventory.hosts_for("web")[:2]
    result = rollout(
        RemoteExecutor(inventory),
        hosts,
        lambda h: bind_for_host("printf '%s' {host.note}", h),
        RolloutOptions(strategy="parallel"),
    )
    assert result.ok
    assert result.result("web1").stdout_tail == value
    assert result.result("web2").stdout_tail == "plain"
    assert not pwned.exists()


def test_secrets_reach_the_host_but_not_the_results(inventory: Inventory, work: Path) -> None:
    secret = SecretStr("s3cr3t-t0ken")
    template = "printf %s {token} > {host.counter} && echo stored on {host.name}"
    executor = RemoteExecutor(inventory)
    shown: list[str] = []

    def command(host: Host) -> str:
        bound = bound_for_host(template, host, {"token": secret})
        shown.append(bound.shown)
        return bound.text

    result = rollout(executor, inventory.hosts_for("web")[:2], command, RolloutOptions())
    assert result.ok
    assert (work / "web1.count").read_text() == "s3cr3t-t0ken"
    recorded = json.dumps(result.to_dict()) + result.summary() + "".join(shown)
    assert "s3cr3t-t0ken" not in recorded
    assert "stored on web1" in recorded


def test_upload_and_download_round_trip(
    inventory: Inventory, executor: RemoteExecutor, work: Path, tmp_path: Path
) -> None:
    payload = tmp_path / "payload.bin"
    payload.write_bytes(os.urandom(256 * 1024) + b"\x00end")
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()
    hosts = inventory.hosts_for("web")
    put = roll_out(
        hosts,
        lambda h: executor.put(h, payload, str(work / f"{h.name}.bin")),
        RolloutOptions(strategy="parallel"),
    )
    assert put.ok, put.summary()
    sums = rollout(
        executor,
        hosts,
        lambda h: bind_for_host("sha256sum {path}", h, {"path": str(work / f"{h.name}.bin")}),
        RolloutOptions(strategy="parallel"),
    )
    assert [r.stdout_tail.split()[0] for r in sums.results] == [digest] * len(hosts)

    back = tmp_path / "back" / "web3.bin"
    got = executor.get(inventory.host("web3"), str(work / "web3.bin"), back)
    assert got.ok and hashlib.sha256(back.read_bytes()).hexdigest() == digest


def test_transfer_failures_are_per_host_errors(
    inventory: Inventory, executor: RemoteExecutor, tmp_path: Path
) -> None:
    missing_local = executor.put(inventory.host("web1"), tmp_path / "nope", "/tmp/x")
    assert missing_local.error_kind == "transfer" and "nope" in (missing_local.error or "")
    missing_remote = executor.get(
        inventory.host("web1"), str(tmp_path / "absent"), tmp_path / "copy"
    )
    assert missing_remote.status == "failed" and missing_remote.error_kind == "transfer"
    assert "download from web1 failed" in (missing_remote.error or "")


def test_an_ssh_config_file_supplies_address_port_user_and_key(
    cluster: SshdCluster, tmp_path: Path
) -> None:
    web1 = cluster.host("web1")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(
        f"Host app-primary\n  HostName 127.0.0.1\n  Port {web1.port}\n"
        f"  User {web1.user}\n  IdentityFile {web1.key_file}\n"
    )
    inventory = Inventory.parse(
        {"primary": {"address": "app-primary", "roles": ["app"]}},
        {
            "known_hosts": str(cluster.known_hosts),
            "ssh_config": str(ssh_config),
            "use_agent": False,
        },
    )
    result = RemoteExecutor(inventory).run(inventory.host("primary"), "echo via config")
    assert result.ok, result
    assert result.stdout_tail == "via config"


def test_stdin_and_env_reach_the_command_and_env_stays_off_every_command_line(
    inventory: Inventory, executor: RemoteExecutor, work: Path
) -> None:
    value = "s3cr3t 'quoted' $(touch pwned) `id` \\n \u00fcn\u00ef\nline two\n\n"
    out = work / "token"
    command = (
        f'printf "%s" "$TOKEN" > {out}; cat; '
        f"ps -eo args | grep -c 's3cr3[t]'; echo user=$USER_NOTE"
    )
    result = executor.run(
        inventory.host("web1"),
        command,
        stdin="from stdin\n",
        env={"TOKEN": value, "USER_NOTE": "plain"},
    )
    assert result.ok or result.exit_code == 0, result
    assert out.read_text() == value
    assert result.stdout.splitlines() == ["from stdin", "0", "user=plain"]
    assert not (work / "pwned").exists()


def test_a_command_that_ignores_its_stdin_is_not_an_error(
    inventory: Inventory, executor: RemoteExecutor
) -> None:
    result = executor.run(inventory.host("web1"), "echo early; exit 3", stdin="x" * 200_000)
    assert result.exit_code == 3 and result.stdout_tail == "early", result
