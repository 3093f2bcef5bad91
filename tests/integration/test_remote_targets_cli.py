"""Issue 14, remote part, end to end: the real CLI in subprocesses against two sshd
servers on 127.0.0.1. Hosts chosen at run time, per-host outputs, the remote context,
host output on the console and in the report, a timed pause, checks on hosts, resume.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_kit import cli, journal_runs, write_project

from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow  # real sshd, the CLI in subprocesses

TOKEN = "tok-3Kd9-canary"

BOOK = '''
"""A fleet runbook for the issue-14 remote tests (written into a temp project)."""

import datetime as dt
import json

import opsbooks as ob


class Fleet(ob.Runbook):
    """Count lines on the chosen servers, stamp each with its own count, check them."""

    name = "i14.fleet"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(ob.Params):
        servers: str = ob.Field(description="hosts to act on, a comma list")
        token: ob.SecretStr = ob.Field(description="handed to each host in its env")

    count = ob.Remote(
        'echo counted on {host.name} >> {host.dir}/count.log; '
        'n=$(wc -l < {host.dir}/file.txt); echo "::output lines=$n"',
        hosts="{servers}",
        outputs=("lines",),
    )
    stamp = ob.Remote(
        "if [ -e fail ]; then echo disk full on {host.name} >&2; exit 1; fi; "
        'printf "%s %s\\\\n" {outputs.lines} "$TOKEN" > stamp.txt; echo stamped {host.name}',
        hosts="{servers}",
        cwd="{host.dir}",
        umask="077",
        env={"TOKEN": "{token}"},
        strategy="batches",
        pause_between_batches="1s",
    )
    healthy = ob.RemoteVerify("test -s {host.dir}/stamp.txt", hosts="{servers}", expect="a stamp")

    @ob.step()
    def tally(self, ctx: ob.StepContext) -> str:
        """Write what each host counted (ctx.outputs["lines"]: host -> value)."""
        (ctx.workdir / "tally.json").write_text(json.dumps(dict(ctx.outputs["lines"])))
        return "tallied"


class AsNobody(ob.Runbook):
    """Say who the command runs as, through sudo."""

    name = "i14.as_nobody"
    scope = "integration tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    who = ob.Remote("echo runs as $(id -un) in $(pwd)", role="web", become="nobody", cwd="/tmp")
'''


@dataclass
class Project:
    root: Path

    def host_dir(self, host: str) -> Path:
        return self.root.parent / "hosts" / host

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(self.root, *args, OPSBOOKS_SECRET_TOKEN=TOKEN)

    def runs(self) -> list[Any]:
        return journal_runs(self.root)

    def everything_stored(self) -> bytes:
        return b"".join(p.read_bytes() for p in (self.root / ".opsbooks").rglob("*") if p.is_file())


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    with sshd_hosts(tmp_path / "sshd", names=["web1", "web2"]) as cluster:
        yield _project(tmp_path / "proj", cluster)


def _project(root: Path, cluster: SshdCluster) -> Project:
    made = Project(root)
    host_vars = {}
    for number, name in enumerate(cluster.names, start=1):
        made.host_dir(name).mkdir(parents=True)
        (made.host_dir(name) / "file.txt").write_text("line\n" * (number * 2 + 1))
        host_vars[name] = {"dir": str(made.host_dir(name))}
    inventory = cluster.inventory_config(roles=["web"], host_vars=host_vars)
    write_project(root, {"fleet": BOOK}, config=inventory)
    return made


def test_hosts_chosen_at_run_time_with_per_host_outputs_and_context(project: Project) -> None:
    done = project.cli("run", "i14.fleet", "--servers", "web1,web2", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    for host, lines in (("web1", 3), ("web2", 5)):
        stamp = project.host_dir(host) / "stamp.txt"
        assert stamp.read_text() == f"{lines} {TOKEN}\n"  # its own count; env= arrived
        assert stat.S_IMODE(stamp.stat().st_mode) == 0o600  # umask 077, in cwd=
    assert json.loads((project.root / "tally.json").read_text()) == {"web1": "3", "web2": "5"}
    assert "      web1 | stamped web1" in done.stdout  # host output, prefixed by host
    assert "batch 1 done; waiting 1s before the next" in done.stdout
    assert TOKEN not in done.stdout + done.stderr
    assert TOKEN.encode() not in project.everything_stored()


@pytest.mark.skipif(shutil.which("sudo") is None or os.geteuid() != 0, reason="needs sudo, as root")
def test_become_runs_the_command_through_sudo(project: Project) -> None:
    done = project.cli("run", "i14.as_nobody", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "      web1 | runs as nobody in /tmp" in done.stdout
    assert "      web2 | runs as nobody in /tmp" in done.stdout


def test_a_host_name_not_in_the_inventory_is_bad_input(project: Project) -> None:
    done = project.cli("run", "i14.fleet", "--servers", "web1,web9", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "'web9'" in done.stderr and "known hosts: web1, web2" in done.stderr
    assert project.runs() == []
    assert not (project.host_dir("web1") / "count.log").exists()  # nothing ran


def test_dry_run_names_the_hosts_and_the_context(project: Project) -> None:
    done = project.cli("run", "i14.fleet", "--servers", "web2", "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "on hosts 'web2'" in done.stdout and "hosts: web2" in done.stdout
    assert "outputs per host: `lines`" in done.stdout
    assert "in `{host.dir}`; umask `077`; environment `TOKEN` (over stdin)" in done.stdout
    assert "waits 1s between batches" in done.stdout and "expect: a stamp" in done.stdout


def test_a_failing_host_reports_its_own_error_and_resume_replays_outputs(
    project: Project,
) -> None:
    (project.host_dir("web2") / "fail").touch()
    first = project.cli("run", "i14.fleet", "--servers", "web1,web2", "--yes")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "exit code 1 on web2: disk full on web2" in first.stdout
    assert "      web2 | disk full on web2" in first.stdout
    run_id = str(project.runs()[0].id)
    report = project.cli("report", run_id)
    assert report.returncode == 0, report.stderr
    assert "### Host output" in report.stdout and "disk full on web2" in report.stdout

    (project.host_dir("web2") / "fail").unlink()
    (project.host_dir("web1") / "file.txt").write_text("changed\n")  # count must not re-run
    second = project.cli("resume", run_id, "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert (project.host_dir("web2") / "stamp.txt").read_text() == f"5 {TOKEN}\n"
    assert (project.host_dir("web1") / "stamp.txt").read_text() == f"3 {TOKEN}\n"
    for host in ("web1", "web2"):  # counted once, in the first run
        assert (project.host_dir(host) / "count.log").read_text().count("counted") == 1
    assert json.loads((project.root / "tally.json").read_text()) == {"web1": "3", "web2": "5"}
