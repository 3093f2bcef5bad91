"""A run's kept SSH connections (``ConnectionPool``) and what a step reads once
(``ConnectCache``), against real sshd hosts on loopback."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.rollout import HostResult, RolloutOptions, roll_out
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.backends.ssh.pool import ConnectionPool
from opsbooks.testing.sshd import SshdCluster

pytestmark = pytest.mark.slow


def test_the_probe_connection_is_lent_to_the_next_calls_and_closed_with_the_pool(
    inventory: Inventory,
) -> None:
    host = inventory.host("web1")
    with ConnectionPool() as pool:
        executor = RemoteExecutor(inventory, pool=pool)
        assert executor.probe(host).ok
        first = executor.run(host, "echo $PPID")  # the sshd session's shell: its parent
        again = RemoteExecutor(inventory, pool=pool).run(host, "echo $PPID")
        assert first.ok and again.ok
        assert pool.reused == 2  # both runs borrowed the probe's connection
        kept = pool.take(host)
        assert kept is not None and kept.is_connected
        pool.give(host, kept)
    assert not kept.is_connected  # closing the pool closed it
    alone = RemoteExecutor(inventory)  # no pool: a connection per call, as before
    assert alone.run(host, "true").ok and alone.pool is None


def test_a_kept_connection_is_not_used_once_known_hosts_no_longer_accepts_its_key(
    inventory: Inventory, cluster: SshdCluster
) -> None:
    """A key removed from known_hosts between two calls fails the second call, as a
    new connection would, instead of riding on the connection made before."""
    host = inventory.host("web2")
    known = Path(inventory.ssh.known_hosts)
    with ConnectionPool() as pool:
        executor = RemoteExecutor(inventory, pool=pool)
        assert executor.run(host, "true").ok
        port = cluster.host("web2").port
        kept = [line for line in known.read_text().splitlines() if f"]:{port} " not in line]
        known.write_text("\n".join(kept) + "\n")
        refused = executor.run(host, "true")
    assert not refused.ok and refused.error_kind == "unknown_hostkey", refused


def test_a_kept_connection_to_a_host_that_died_fails_like_a_new_one(
    inventory: Inventory, cluster: SshdCluster
) -> None:
    host = inventory.host("web3")
    with ConnectionPool() as pool:
        executor = RemoteExecutor(inventory, pool=pool)
        assert executor.run(host, "true").ok
        cluster.kill("web3")
        down = executor.run(host, "true")
    assert not down.ok and down.error_kind == "connect", down  # not "lost mid-command"


def test_hosts_running_at_once_each_get_their_own_connection(inventory: Inventory) -> None:
    hosts = inventory.hosts
    barrier = threading.Barrier(len(hosts))
    with ConnectionPool() as pool:
        executor = RemoteExecutor(inventory, pool=pool)

        def both(host: object) -> HostResult:
            assert executor.probe(host).ok  # type: ignore[arg-type]
            barrier.wait(timeout=30)  # every host holds one before any gives it back
            return executor.run(host, "hostname >/dev/null")  # type: ignore[arg-type]

        done = roll_out(hosts, both, RolloutOptions(strategy="parallel", workers=len(hosts)))
    assert done.ok and pool.reused == len(hosts)
