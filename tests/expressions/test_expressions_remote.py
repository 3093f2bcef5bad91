"""Answers, the run id, the runbook and host vars in commands on hosts: against
``FakeHosts`` (fast) and through the real CLI over sshd on 127.0.0.1 (slow)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from exprbooks.stamp import Stamp

from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.run.options import RunOptions
from opsbooks.testing.fakes import FakeBackend, FakeHosts
from opsbooks.testing.sshd import sshd_hosts

BOOKS = Path(__file__).resolve().parent / "exprbooks"


def test_a_host_command_binds_answers_run_and_vars_and_gets_the_run_env(tmp_path: Path) -> None:
    hosts = FakeHosts()
    host_table = {
        "web1": {"roles": ["web"], "vars": {"dc": "ams", "dir": "/srv/a"}},
        "web2": {"roles": ["web"], "vars": {"dc": "fra", "dir": "/srv/b"}},
    }
    report = start_run(
        Invocation(runbook=Stamp.name, params={}, options=RunOptions()),
        Config(root=tmp_path, hosts=host_table),
        Surroundings(
            stdin=io.StringIO(),
            stdout=io.StringIO(),
            environ={"OPSBOOKS_USER": "unit"},
            interactive=False,
            backend=FakeBackend(),
            hosts=hosts,
            install_signal_handlers=False,
            scripted={"ticket": "CHG-9"},
        ),
        Catalog([Stamp]),
    )
    assert report is not None and report.outcome.value == "succeeded", report.reason
    run_id = report.run_id
    calls = [c for c in hosts.calls if c.action == "run"]
    assert [c.command.split(" >")[0] for c in calls] == [
        f'echo CHG-9 {run_id} expr.stamp web1 ams "$OPSBOOKS_RUN_ID" "$OPSBOOKS_RUNBOOK"',
        f'echo CHG-9 {run_id} expr.stamp web2 fra "$OPSBOOKS_RUN_ID" "$OPSBOOKS_RUNBOOK"',
    ]
    assert all(c.env["OPSBOOKS_RUN_ID"] == run_id for c in calls)
    assert all(c.env["OPSBOOKS_RUNBOOK"] == "expr.stamp" for c in calls)


@pytest.mark.slow
def test_over_real_sshd_through_the_cli(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    shutil.copytree(BOOKS, root / "exprbooks", ignore=shutil.ignore_patterns("__pycache__"))
    with sshd_hosts(tmp_path / "sshd", names=["web1", "web2"]) as cluster:
        dirs = {name: tmp_path / "hosts" / name for name in cluster.names}
        for folder in dirs.values():
            folder.mkdir(parents=True)
        host_vars = {name: {"dir": str(dirs[name]), "dc": f"dc-{name}"} for name in dirs}
        config = cluster.inventory_config(roles=["web"], host_vars=host_vars)
        toml = ['packages = ["exprbooks"]', "", "[ssh]"]
        toml += [f"{k} = {json.dumps(v)}" for k, v in config["ssh"].items()]
        for name, table in config["hosts"].items():
            toml += ["", f"[hosts.{name}]"]
            toml += [f"{k} = {json.dumps(v)}" for k, v in table.items() if k != "vars"]
            pairs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in table["vars"].items())
            toml += [f"vars = {{ {pairs} }}"]
        (root / "opsbooks.toml").write_text("\n".join(toml) + "\n")
        (root / "answers.yaml").write_text("ticket: CHG-12\n")
        done = subprocess.run(
            [sys.executable, "-m", "opsbooks", "run", "expr.stamp", "--answers", "answers.yaml"],
            cwd=root,
            env={**os.environ, "OPSBOOKS_USER": "cli-test"},
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = done.stdout.split(" as run ", 1)[1].split()[0]
    for name, folder in dirs.items():
        stamp = (folder / "stamp.txt").read_text().split()
        assert stamp == ["CHG-12", run_id, "expr.stamp", name, f"dc-{name}", run_id, "expr.stamp"]
