"""Real sshd servers on loopback for the remote tests, and helpers to build inventories."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from remote_helpers import InventoryFactory

from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

NAMES = ["web1", "web2", "web3", "web4", "web5"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    """Five real sshd hosts (web1..web5), torn down after the test."""
    with sshd_hosts(tmp_path, names=NAMES) as running:
        yield running


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory the 'remote' hosts (this machine) write markers into."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def make_inventory(cluster: SshdCluster, work: Path) -> InventoryFactory:
    """Build an inventory of the cluster, all hosts in role ``web``, with per-host vars.

    Each host gets ``fail_flag`` (a path that, when it exists, makes the test
    commands fail there) and ``counter`` (a file each run appends a line to).
    """

    def build(
        *,
        extra_vars: Mapping[str, Mapping[str, str]] | None = None,
        names: Sequence[str] | None = None,
        **ssh: Any,
    ) -> Inventory:
        host_vars = {
            name: {
                "fail_flag": str(work / f"{name}.fail"),
                "counter": str(work / f"{name}.count"),
                **(extra_vars or {}).get(name, {}),
            }
            for name in cluster.names
        }
        config = cluster.inventory_config(roles=["web"], host_vars=host_vars)
        hosts = {k: v for k, v in config["hosts"].items() if names is None or k in names}
        return Inventory.parse(hosts, {**config["ssh"], **ssh})

    return build


@pytest.fixture
def inventory(make_inventory: InventoryFactory) -> Inventory:
    return make_inventory()


@pytest.fixture
def executor(inventory: Inventory) -> RemoteExecutor:
    return RemoteExecutor(inventory)
