"""``Remote``, ``Upload`` and ``Download`` steps: definition checks, plans, real hosts."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from opsbooks.backends.hosts.actions import step_action
from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.rollout import RolloutOptions, roll_out
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.define.params import Params
from opsbooks.define.remote import Download, Remote, Upload
from opsbooks.define.runbook import Runbook
from opsbooks.errors import DefinitionError
from opsbooks.plan.binding import plan


class Ship(Runbook):
    """Ship a bundle to the web hosts and collect their logs."""

    name = "deploy.ship"
    scope = "web tier"
    owner = "ops"
    last_reviewed = "2026-11-01"

    class Params(Params):
        bundle: str
        dest: str
        version: str

    push = Upload("{bundle}", "{dest}/{host.name}-{version}.bin", role="web", strategy="parallel")
    check = Remote(
        "sha256sum {dest}/{host.name}-{version}.bin", role="web", strategy="batches", batch_size=2
    )
    fetch = Download("{dest}/{host.name}-{version}.bin", "{dest}/back/{host.name}.bin", role="web")


def test_download_must_name_a_file_per_host() -> None:
    with pytest.raises(DefinitionError, match=r"\{host.name\}"):

        class Bad(Runbook):
            """Bad."""

            scope = "x"
            owner = "me"
            last_reviewed = "2026-11-01"
            grab = Download("/var/log/app.log", "app.log", role="web")


def test_transfer_steps_check_their_templates() -> None:
    with pytest.raises(DefinitionError, match="unknown parameter"):

        class Bad(Runbook):
            """Bad."""

            scope = "x"
            owner = "me"
            last_reviewed = "2026-11-01"
            push = Upload("{artifact}", "/tmp/x", role="web")


def test_plan_shows_what_a_transfer_step_does() -> None:
    planned = plan(Ship, Ship.Params(bundle="b.bin", dest="/srv", version="1 2"))
    push = planned.get("push")
    assert push.kind == "upload"
    assert push.shown == "upload b.bin to /srv/{host.name}-'1 2'.bin"
    assert Ship.step("push").describe_rollout().startswith("all hosts at once")


@pytest.mark.slow
def test_steps_run_on_real_hosts(inventory: Inventory, work: Path, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.bin"
    bundle.write_bytes(b"payload " * 4096)
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    values = {"bundle": str(bundle), "dest": str(work), "version": "1.0"}
    executor = RemoteExecutor(inventory)
    hosts = inventory.hosts_for("web")
    results = {}
    for item in Ship.steps:
        assert isinstance(item, Remote)
        results[item.id] = roll_out(
            hosts, step_action(executor, item, values), RolloutOptions.for_step(item)
        )
        assert results[item.id].ok, results[item.id].summary()
    assert all(r.stdout_tail.startswith(digest) for r in results["check"].results)
    for host in hosts:
        copy = work / "back" / f"{host.name}.bin"
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
