"""Connections opened from many threads at once share no fabric config (the 'gateway' race).

fabric's ``Connection.__init__`` writes to the config it is given and invoke rebuilds
a config from empty on every write, so one config shared across threads was briefly
empty for the others: a random host failed with ``AttributeError: ... 'gateway'``.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbooks.backends.hosts.inventory import Host, Inventory
from opsbooks.backends.rollout import HostResult
from opsbooks.backends.ssh.executor import RemoteExecutor

THREADS = 30


def hammer(count: int, threads: int, work: Callable[[int], object]) -> Counter[str]:
    """Call ``work(i)`` ``count`` times over ``threads`` threads started together.

    The interpreter switches threads as often as it can meanwhile, so a window in
    which shared state is inconsistent is hit every run, not once in a while.
    """
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(offset: int) -> None:
        start.wait()
        for i in range(offset, count, threads):
            try:
                work(i)
            except Exception as exc:
                with lock:
                    errors[f"{type(exc).__name__}: {str(exc).splitlines()[0]}"] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(2e-4)
    try:
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    return errors


def test_a_thousand_concurrent_connections_are_built_without_error(tmp_path: Path) -> None:
    hosts = {f"h{i}": {"address": "127.0.0.1", "port": 2200 + i, "user": "ops"} for i in range(30)}
    inventory = Inventory.parse(hosts, {"known_hosts": str(tmp_path / "known_hosts")})
    executor = RemoteExecutor(inventory)
    built: list[tuple[str, int]] = []

    def build(i: int) -> None:
        host = inventory.hosts[i % len(inventory.hosts)]
        conn = executor.connection(host)
        built.append((conn.host, conn.port))
        assert conn.port == host.port and conn.user == "ops" and conn.gateway is None

    errors = hammer(1000, THREADS, build)
    assert not errors, f"{sum(errors.values())} of 1000 constructions failed: {errors}"
    assert len(built) == 1000


def test_each_connection_has_a_config_of_its_own(tmp_path: Path) -> None:
    inventory = Inventory.parse({"a": {}, "b": {}}, {"known_hosts": str(tmp_path / "kh")})
    executor = RemoteExecutor(inventory)
    first, second = (executor.connection(h) for h in inventory.hosts)
    assert first.config is not second.config


def test_an_ssh_config_file_is_read_once_and_parsed_per_connection(tmp_path: Path) -> None:
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text("Host app\n  HostName 127.0.0.9\n  Port 2022\n  User deploy\n")
    inventory = Inventory.parse(
        {"primary": {"address": "app"}}, {"ssh_config": str(ssh_config), "known_hosts": "kh"}
    )
    executor = RemoteExecutor(inventory)
    ssh_config.unlink()  # read when the executor was made; connecting does not read it again
    conn = executor.connection(inventory.host("primary"))
    assert (conn.host, conn.port, conn.user) == ("127.0.0.9", 2022, "deploy")


@pytest.mark.slow
def test_hundreds_of_concurrent_commands_over_real_sshd_all_succeed(
    inventory: Inventory, executor: RemoteExecutor
) -> None:
    """300 connections, 30 at a time, each running ``true``: not one may fail."""
    hosts: list[Host] = inventory.hosts_for("web")
    results: list[HostResult] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        result = executor.run(hosts[i % len(hosts)], "true", timeout=60)
        with lock:
            results.append(result)

    started = time.monotonic()
    errors = hammer(300, THREADS, run)
    elapsed = time.monotonic() - started
    assert not errors, f"{sum(errors.values())} of 300 raised: {errors}"
    failed = [r for r in results if not r.ok]
    assert not failed, f"{len(failed)} of 300 failed, e.g. {failed[0]}"
    assert len(results) == 300
    assert elapsed < 90, f"300 commands took {elapsed:.0f}s"
