"""dr.system_recovery through the engine on a real sshd host on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from maint_kit import sqlite_exec, sqlite_rows

from opsbooks.testing import Drill
from opsbooks.testing.sshd import SshdCluster, sshd_hosts
from opsbooks_playbooks.actions import db

pytestmark = pytest.mark.slow  # a real sshd, a real service process, subprocesses

HOST = "app1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path_factory.mktemp("sysrec"), names=[HOST]) as hosts:
        yield hosts


def stop_service(install: Path) -> None:
    """The service outlives its ssh session by design; stop it by its pid file."""
    pidfile = install / "run" / "service.pid"
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int(pidfile.read_text())
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)


@pytest.fixture
def world(cluster: SshdCluster, tmp_path: Path, drill: Drill) -> Iterator[dict[str, Any]]:
    """A verified backup of the service's data, its config in a repo, an empty host."""
    data = tmp_path / "shop.db"
    sqlite_exec(
        data,
        "CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)",
        "INSERT INTO events VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        "CREATE TABLE users (id INTEGER PRIMARY KEY)",
        "INSERT INTO users VALUES (7)",
    )
    backup, _, _ = db.backup(f"sqlite:///{data}", tmp_path / "backups")
    db.verify(backup)
    sqlite_exec(data, "INSERT INTO events VALUES (4, 'after the backup')")  # lost: the RPO
    port = free_port()
    config = tmp_path / "repo" / "services" / "shop"
    config.mkdir(parents=True)
    (config / "service.conf").write_text(f"# shop\nNAME=shop\nPORT={port}\n")
    (config / "extra.conf").write_text("LOG_LEVEL=info\n")
    install = cluster.host(HOST).home / f"srv-{tmp_path.name}"
    drill.settings = {
        **cluster.inventory_config(roles=["app"]),
        "notify": {"default": {"type": "file", "path": "notices.log"}},
    }
    params = {
        "service": "shop",
        "host": HOST,
        "install_dir": str(install),
        "port": port,
        "config_dir": str(config),
        "backup_dir": str(tmp_path / "backups"),
    }
    try:
        yield {"params": params, "install": install, "port": port, "backup": backup}
    finally:
        stop_service(install)


def health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


def test_rebuild_serves_the_backups_data_and_measures_rto(
    drill: Drill, world: dict[str, Any]
) -> None:
    result = drill.run("dr.system_recovery", world["params"], answers={"declare": "shop"})
    result.assert_succeeded()
    install: Path = world["install"]
    assert health(world["port"]) == {
        "service": "shop",
        "status": "ok",
        "tables": {"events": 3, "users": 1},  # the backup's rows, not the lost 4th event
    }
    assert sqlite_rows(install / "data" / "service.db", "events") == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
    ]
    assert (install / "etc" / "extra.conf").read_text() == "LOG_LEVEL=info\n"
    assert (install / "bin" / "tinyservice.py").is_file()
    assert result.rto is not None and result.metrics["rto_met"] is True
    assert result.rpo is not None and result.metrics["rpo_met"] is True
    assert "rebuilt on app1" in (drill.root / "notices.log").read_text()


def test_a_failed_verification_rolls_the_host_back_to_empty(
    drill: Drill, world: dict[str, Any]
) -> None:
    result = drill.run(
        "dr.system_recovery",
        world["params"],
        answers={"declare": "shop"},
        fail={"verify_data": "rehearse a rebuild whose data is wrong"},
    )
    assert result.outcome == "rolled_back", result.output
    for step in ("start_service", "restore_data", "stage_config"):
        result.assert_compensated(step)
    install: Path = world["install"]
    assert not (install / "run" / "service.pid").exists()
    with pytest.raises(OSError):
        health(world["port"])  # the service was stopped
    assert not (install / "data" / "service.db").exists()
    assert not (install / "etc").exists() and not (install / "bin").exists()


def test_a_port_mismatch_is_caught_before_the_host_is_touched(
    drill: Drill, world: dict[str, Any]
) -> None:
    params = {**world["params"], "port": world["port"] + 1 if world["port"] < 65535 else 1024}
    result = drill.run("dr.system_recovery", params, answers={"declare": "shop"})
    assert result.report.failed_step == "check_config"
    assert not world["install"].exists()
