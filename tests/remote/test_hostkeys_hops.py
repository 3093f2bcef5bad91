"""Every SSH hop's host key is checked: a jump host (bastion) like a direct host, over two
real sshd on loopback; ``@revoked`` and ``@cert-authority`` lines give their own answers,
through the executor and through the real CLI in a subprocess."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_kit import cli, journal_runs, write_project

from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.testing.sshd import SshdCluster, SshdHost, sshd_hosts

pytestmark = pytest.mark.slow


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[SshdCluster]:
    """Two real sshd: ``bastion`` (the jump host) and ``web1`` (reached through it)."""
    with sshd_hosts(tmp_path, names=["bastion", "web1"]) as running:
        yield running


def _line(host: SshdHost, key_line: str | None = None) -> str:
    return f"[{host.address}]:{host.port} {key_line or host.host_key_line}\n"


def _write_known(path: Path, *lines: str) -> Path:
    path.write_text("".join(lines))
    return path


def _hosts(
    pair: SshdCluster, work: Path, web1_port: int | None = None
) -> dict[str, dict[str, object]]:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    common = {"address": "127.0.0.1", "user": web1.user, "key_file": str(pair.client_key)}
    return {
        "bastion": {**common, "port": bastion.port},
        "web1": {
            **common,
            "port": web1_port or web1.port,
            "jump": "bastion",
            "roles": ["web"],
            "vars": {"counter": str(work / "web1.count")},
        },
    }


def _inventory(
    pair: SshdCluster, known: Path, work: Path, web1_port: int | None = None, **ssh: object
) -> Inventory:
    settings = {"known_hosts": str(known), "connect_timeout": 5.0, "use_agent": False, **ssh}
    return Inventory.parse(_hosts(pair, work, web1_port), settings)


@contextlib.contextmanager
def _stand_in() -> Iterator[tuple[int, Callable[[], bool]]]:
    """A plain TCP listener standing in for web1: its port, and "was it contacted?"."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)

        def contacted() -> bool:
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                return False
            conn.close()
            return True

        yield listener.getsockname()[1], contacted


def _logins(host: SshdHost) -> int:
    return host.log_file.read_text(errors="replace").count("Accepted publickey")


def _run_on_web1(inventory: Inventory, work: Path) -> tuple[bool, str, str, str | None]:
    result = RemoteExecutor(inventory).run(
        inventory.host("web1"), f"echo ran >> {work / 'web1.count'}"
    )
    return result.ok, result.error_kind or "", result.error or "", result.trusted_key


# -- (a), (b): a bad bastion key stops the way there ---------------------------------------


def test_an_unknown_bastion_key_is_refused_and_the_target_is_not_contacted(
    tmp_path: Path, pair: SshdCluster
) -> None:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    known = _write_known(tmp_path / "known_hosts", _line(web1))
    with _stand_in() as (port, contacted):
        inventory = _inventory(pair, known, tmp_path, web1_port=port)
        ok, kind, error, trusted = _run_on_web1(inventory, tmp_path)
        assert not contacted()
    assert not ok and kind == "unknown_hostkey" and trusted is None
    assert error.startswith("jump host bastion on the way to web1: host key of ")
    assert f"127.0.0.1:{bastion.port} (ssh-ed25519 SHA256:" in error
    assert f"ssh-keyscan -p {bastion.port} 127.0.0.1 >> {known}" in error
    assert known.read_text() == _line(web1)


def test_a_wrong_bastion_key_is_refused_with_both_fingerprints(
    tmp_path: Path, pair: SshdCluster
) -> None:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    forged = _line(bastion, web1.host_key_line)  # the bastion's name, another host's key
    known = _write_known(tmp_path / "known_hosts", forged, _line(web1))
    with _stand_in() as (port, contacted):
        inventory = _inventory(pair, known, tmp_path, web1_port=port, trust_new_hosts=True)
        ok, kind, error, _ = _run_on_web1(inventory, tmp_path)
        assert not contacted()
    assert not ok and kind == "hostkey"
    assert error.startswith("jump host bastion on the way to web1: host key of ")
    assert "does not match" in error and "This may be an attack" in error
    assert f"ssh-keygen -R '[127.0.0.1]:{bastion.port}' -f {known}" in error


def test_an_ssh_config_proxyjump_bastion_is_checked_too(tmp_path: Path, pair: SshdCluster) -> None:
    """The issue's case: ProxyJump from an ssh config, where fabric accepted any key."""
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(
        f"Host jumpbox\n  HostName 127.0.0.1\n  Port {bastion.port}\n  User {bastion.user}\n"
        f"  IdentityFile {pair.client_key}\n"
        f"Host web1.internal\n  HostName 127.0.0.1\n  Port {web1.port}\n  ProxyJump jumpbox\n"
    )
    hosts = {"web1": {"address": "web1.internal", "key_file": str(pair.client_key)}}
    known = _write_known(tmp_path / "known_hosts", _line(web1))
    settings = {"known_hosts": str(known), "ssh_config": str(ssh_config), "use_agent": False}
    inventory = Inventory.parse(hosts, settings)
    refused = RemoteExecutor(inventory).run(inventory.host("web1"), "true")
    assert refused.error_kind == "unknown_hostkey", refused.error
    assert (refused.error or "").startswith("jump host jumpbox on the way to web1: ")

    _write_known(known, _line(bastion), _line(web1))
    logins = _logins(bastion)
    passed = RemoteExecutor(inventory).run(inventory.host("web1"), "echo through")
    assert passed.ok and passed.stdout == "through\n", passed.error
    assert _logins(bastion) == logins + 1


def test_hashed_names_and_key_types_paramiko_lacks_keep_working(
    tmp_path: Path, pair: SshdCluster
) -> None:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    known = _write_known(tmp_path / "known_hosts", _line(bastion), _line(web1))
    subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
    assert "|1|" in known.read_text() and "127.0.0.1" not in known.read_text()
    other = web1.host_key_line.split()[1]
    with known.open("a") as handle:
        handle.write(f"[127.0.0.1]:{web1.port} sk-ssh-ed25519@openssh.com {other}\n")
    ok, _, error, _ = _run_on_web1(_inventory(pair, known, tmp_path), tmp_path)
    assert ok, error


# -- (d): trusting new hosts records and reports the bastion's key ---------------------------


def test_trusting_new_hosts_records_and_reports_the_bastion_key(
    tmp_path: Path, pair: SshdCluster
) -> None:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    known = _write_known(tmp_path / "known_hosts", _line(web1))
    inventory = _inventory(pair, known, tmp_path, trust_new_hosts=True)
    ok, _, error, trusted = _run_on_web1(inventory, tmp_path)
    assert ok, error
    assert trusted is not None and trusted.startswith("ssh-ed25519 SHA256:")
    assert trusted.endswith(" (jump host bastion)")
    assert _line(bastion) in known.read_text()
    again = _run_on_web1(inventory, tmp_path)
    assert again[0] and again[3] is None  # known now: nothing new to trust
    assert (tmp_path / "web1.count").read_text() == "ran\nran\n"


# -- (f): a host covered only by a @cert-authority line ------------------------------------


def test_a_cert_authority_only_bastion_gets_the_unsupported_answer(
    tmp_path: Path, pair: SshdCluster
) -> None:
    web1 = pair.host("web1")
    ca = f"@cert-authority [127.0.0.1]:* {web1.host_key_line}\n"
    known = _write_known(tmp_path / "known_hosts", ca, _line(web1))
    ok, kind, error, _ = _run_on_web1(_inventory(pair, known, tmp_path), tmp_path)
    assert not ok and kind == "unknown_hostkey"
    assert error.startswith("jump host bastion on the way to web1: ")
    assert "@cert-authority line 1" in error and "host certificates are not supported" in error
    assert "add the host's key to known_hosts" in error and "ssh-keyscan -p " in error


def test_a_revoked_target_key_is_refused_even_when_listed(
    tmp_path: Path, pair: SshdCluster
) -> None:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    revoked = f"@revoked * {web1.host_key_line}\n"
    known = _write_known(tmp_path / "known_hosts", _line(bastion), _line(web1), revoked)
    logins = _logins(web1)
    ok, kind, error, _ = _run_on_web1(
        _inventory(pair, known, tmp_path, trust_new_hosts=True), tmp_path
    )
    assert not ok and kind == "hostkey"
    assert " of web1 (" in error and "is marked @revoked in known_hosts line 3" in error
    assert _logins(web1) == logins  # refused before logging in


# -- (c), (e): through the real CLI ------------------------------------------------------------

RUNBOOK = '''
class Mark(ob.Runbook):
    """Prepare locally, then mark web1, which is reached through the bastion."""

    name = "hops.mark"
    scope = "two sshd on loopback"
    owner = "sre"
    last_reviewed = "2026-11-01"

    prepare = ob.Command("test ! -e change.sh || sh change.sh")
    mark = ob.Remote("echo ran >> {host.counter}", role="web")
'''


def _project(tmp_path: Path, pair: SshdCluster, known: Path, *, trust: bool = False) -> Path:
    ssh: dict[str, object] = {"known_hosts": str(known), "connect_timeout": 5, "use_agent": False}
    if trust:
        ssh["trust_new_hosts"] = True
    config = {"ssh": ssh, "hosts": _hosts(pair, tmp_path)}
    package = f"hops_{uuid.uuid4().hex[:8]}"
    return write_project(
        tmp_path / "project", {"hops/mark": RUNBOOK}, package=package, config=config
    )


def _runs(root: Path) -> list[tuple[str, str, str | None]]:
    return [(r.id, r.outcome, r.failed_step) for r in journal_runs(root)]


def test_a_remote_step_runs_through_the_bastion_from_thecli(
    tmp_path: Path, pair: SshdCluster
) -> None:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    known = _write_known(tmp_path / "known_hosts", _line(bastion), _line(web1))
    root = _project(tmp_path, pair, known)
    logins = (_logins(bastion), _logins(web1))
    done = cli(root, "run", "hops.mark", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "web1.count").read_text() == "ran\n"
    assert _logins(bastion) > logins[0] and _logins(web1) > logins[1]  # probe + step
    ((_, outcome, _),) = _runs(root)
    assert outcome == "succeeded"


def test_keys_trusted_before_the_first_step_are_reported_on_the_console(
    tmp_path: Path, pair: SshdCluster
) -> None:
    known = _write_known(tmp_path / "known_hosts")
    root = _project(tmp_path, pair, known, trust=True)
    done = cli(root, "run", "hops.mark", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    # the reachability probe trusted them: by the time the step runs they are known
    assert "note: trusted a new host key for web1: ssh-" in done.stdout, done.stdout
    assert len(known.read_text().splitlines()) == 2  # the bastion's and web1's


def test_an_unknown_bastion_key_stops_the_cli_before_any_step(
    tmp_path: Path, pair: SshdCluster
) -> None:
    known = _write_known(tmp_path / "known_hosts", _line(pair.host("web1")))
    root = _project(tmp_path, pair, known)
    refused = cli(root, "run", "hops.mark", "--yes")
    text = refused.stdout + refused.stderr
    assert refused.returncode == 2, text
    assert "jump host bastion on the way to web1: host key of" in text
    assert "Traceback" not in text and not (tmp_path / "web1.count").exists()


@pytest.mark.parametrize("change", ["revoked", "wrong key"])
def test_a_target_key_revoked_mid_run_fails_like_a_wrong_key_and_resumes_after_the_fix(
    tmp_path: Path, pair: SshdCluster, change: str
) -> None:
    bastion, web1 = pair.host("bastion"), pair.host("web1")
    good = _line(bastion) + _line(web1)
    known = _write_known(tmp_path / "known_hosts", good)
    root = _project(tmp_path, pair, known)
    bad = (
        good + f"@revoked * {web1.host_key_line}\n"
        if change == "revoked"
        else _line(bastion) + _line(web1, bastion.host_key_line)
    )
    (tmp_path / "bad_known_hosts").write_text(bad)
    # the reachability probe passes; then the first step changes known_hosts under the run
    (root / "change.sh").write_text(f"cp {tmp_path / 'bad_known_hosts'} {known}\n")
    failed = cli(root, "run", "hops.mark", "--yes")
    text = failed.stdout + failed.stderr
    assert failed.returncode == 1, text
    assert "Traceback" not in text
    if change == "revoked":
        assert "of web1 (" in text and "is marked @revoked in known_hosts line 3" in text
    else:
        assert "does not match" in text
    ((run_id, outcome, failed_step),) = _runs(root)
    assert (outcome, failed_step) == ("failed", "mark")
    assert not (tmp_path / "web1.count").exists()

    known.write_text(good)  # the fix: the host's real key is known again
    resumed = cli(root, "resume", run_id, "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (tmp_path / "web1.count").read_text() == "ran\n"
    assert [(r[1], r[2]) for r in _runs(root)] == [("succeeded", None)]
