"""Node-first sections end to end: the real CLI in subprocesses against three sshd
servers on 127.0.0.1. The section runs whole on one host before the next, a failure
on web2 leaves web3 untouched, resume goes on at web2's first step not done there,
and a section that holds a local step is refused with one paragraph (exit 2).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_kit import cli, journal_runs, write_project

from opsbooks.testing.sshd import sshd_hosts

pytestmark = pytest.mark.slow  # real sshd, the CLI in subprocesses

BOOK = '''
"""A node-first upgrade for the per-host section tests (written into a temp project)."""

import datetime as dt

import opsbooks as ob

LOG = "echo {host.name} %s >> {host.dir}/../order.log"


class Upgrade(ob.Runbook):
    """Upgrade the web hosts one at a time: drain, install, check, then the next host."""

    name = "i14.node_first"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class upgrade(ob.Section, per_host=True):
        """Upgrade each web host in turn"""

        pause_between_batches = "1s"

        drain = ob.Remote(LOG % "drain", role="web")
        install = ob.Remote(
            "if [ -e {host.dir}/fail ]; then echo broken on {host.name} >&2; exit 1; fi; "
            + LOG % "install",
            role="web",
        )
        check = ob.RemoteVerify(LOG % "check", role="web")
'''

BAD = '''
"""A node-first section holding a local step: refused when the module is imported."""

import datetime as dt

import opsbooks as ob


class Bad(ob.Runbook):
    """Mixes a local command into a node-first section."""

    name = "i14.bad_node_first"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class upgrade(ob.Section, per_host=True):
        """Upgrade"""

        drain = ob.Remote("true", role="web")
        note = ob.Command("echo local")
'''


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    with sshd_hosts(tmp_path / "sshd", names=["web1", "web2", "web3"]) as cluster:
        root = tmp_path / "proj"
        host_vars = {}
        for name in cluster.names:
            (tmp_path / "hosts" / name).mkdir(parents=True)
            host_vars[name] = {"dir": str(tmp_path / "hosts" / name)}
        write_project(
            root,
            {"fleet": BOOK},
            config=cluster.inventory_config(roles=["web"], host_vars=host_vars),
        )
        yield root


def _order(root: Path) -> list[str]:
    log = root.parent / "hosts" / "order.log"
    return log.read_text().splitlines() if log.exists() else []


def _each(*hosts: str, steps: tuple[str, ...] = ("drain", "install", "check")) -> list[str]:
    return [f"{host} {step}" for host in hosts for step in steps]


def test_the_section_runs_whole_on_each_host_in_turn(project: Path) -> None:
    done = cli(project, "run", "i14.node_first", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _order(project) == _each("web1", "web2", "web3")
    assert done.stdout.count("batch 1 done; waiting 1s before the next") == 1
    assert "upgrade: batch 2 done" in done.stdout


def test_a_failure_on_web2_leaves_web3_untouched_and_resume_goes_on(project: Path) -> None:
    broken = project.parent / "hosts" / "web2" / "fail"
    broken.touch()
    first = cli(project, "run", "i14.node_first", "--yes", "--no-rollback")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "broken on web2" in first.stdout
    assert _order(project) == [*_each("web1"), "web2 drain"]
    run_id = str(journal_runs(project)[0].id)

    broken.unlink()
    second = cli(project, "resume", run_id, "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _order(project) == [
        *_each("web1"),
        "web2 drain",
        "web2 install",
        "web2 check",
        *_each("web3"),
    ]


def test_the_dry_run_says_node_first(project: Path) -> None:
    done = cli(project, "run", "i14.node_first", "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "node-first: the whole section on one host before the next, 1 at a time" in done.stdout


def test_a_local_step_in_a_node_first_section_is_bad_input(tmp_path: Path) -> None:
    root = write_project(tmp_path / "bad", {"bad": BAD})
    done = cli(root, "run", "i14.bad_node_first", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "upgrade.note is a Command step, but node-first section 'upgrade'" in done.stderr
