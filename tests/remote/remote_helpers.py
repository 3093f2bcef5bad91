"""Helpers shared by the remote tests (kept out of conftest so tests can import them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opsbooks.backends.hosts.actions import command_action
from opsbooks.backends.hosts.inventory import Host, Inventory
from opsbooks.backends.protocols import HostBackend
from opsbooks.backends.rollout import RolloutOptions, RolloutResult, roll_out


def fail_on(work: Path, *names: str) -> None:
    """Make the standard test command fail on ``names``."""
    for name in names:
        (work / f"{name}.fail").touch()


def runs(work: Path, name: str) -> int:
    """How many times the standard test command ran on host ``name``."""
    counter = work / f"{name}.count"
    return len(counter.read_text().splitlines()) if counter.exists() else 0


InventoryFactory = Callable[..., Inventory]  # the ``make_inventory`` fixture

STANDARD = "echo ran >> {host.counter} && test ! -e {host.fail_flag}"


def rollout(
    backend: HostBackend,
    hosts: Sequence[Host],
    command_for_host: Callable[[Host], str],
    options: RolloutOptions | None = None,
    **kwargs: Any,
) -> RolloutResult:
    """Run ``command_for_host(host)`` over ``hosts`` as ``options`` say (default: serial)."""
    options = options or RolloutOptions()
    attempt = command_action(backend, command_for_host, timeout=options.timeout)
    return roll_out(hosts, attempt, options, **kwargs)
