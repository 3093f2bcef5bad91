"""Ports of two braintree/runbook examples, run through the CLI against real sshd:

- ``capture_all`` (README, "Capture All"): a value captured on each server into one
  name, a hash server -> value. Here: ``Remote(..., outputs=("num_lines",))``; each
  host prints ``::output num_lines=VALUE`` (stripped), journaled per host.
- run-time server choice (README, "Setup": "a runbook that prompts for a list of
  servers, stops the servers, and then starts them"). Here the list is a param
  (``--servers``) bound into ``hosts="{servers}"`` and checked against the inventory
  before any step runs; the peer needs a ``ruby_command`` block around every command
  that uses the list (README FAQ, "Why is my variable/method not set?").

Each port is at most as long as the peer's text, measured below.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_kit import cli, write_project

from opsbooks.records.journal import open_journal
from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow  # the CLI in subprocesses, real sshd

PEER_CAPTURE_ALL = """capture_all %Q{wc -l file.txt | cut -d " " -f 1}, into: :num_lines, \
strip: true, ssh_config: {servers: ["host1.stg", "host2.stg"]}"""

PORT_CAPTURE_ALL = """num_lines = ob.Remote('echo "::output num_lines=$(wc -l < file.txt)"', \
hosts="host1.stg,host2.stg", outputs=("num_lines",), **AT)"""

PEER_SERVERS = """setup do
  ask "Which servers?", into: :servers
end
step "Stop servers" do
  ruby_command { command "service app stop", ssh_config: {servers: @servers.split(",")} }
end
step "Start servers" do
  ruby_command { command "service app start", ssh_config: {servers: @servers.split(",")} }
end"""

PORT_SERVERS = """class Params(ob.Params):
    servers: str = ob.Field(description="Which servers?")

stop_servers = ob.Remote("service app stop", hosts="{servers}", **AT)
start_servers = ob.Remote("service app start", hosts="{servers}", **AT)"""


def _book(name: str, doc: str, body: str) -> str:
    indented = "\n".join(f"    {line}" if line else "" for line in body.splitlines())
    return (
        f"class {name}(ob.Runbook):\n"
        f'    """{doc}"""\n\n'
        f'    scope, owner, last_reviewed = "The stg servers.", "SRE", "2026-11-01"\n\n'
        f"{indented}\n"
    )


# The one test-only line: a loopback host's own folder is its login directory and holds
# a stand-in ``service`` (the peer's commands run in the login directory).
AT = 'AT = {"cwd": "{host.home}", "env": {"PATH": "{host.home}/bin:/usr/bin:/bin"}}\n'
MODULE = (
    "import opsbooks as ob\n\n"
    + AT
    + "\n\n"
    + _book("CountLines", "Count the lines of file.txt on each server.", PORT_CAPTURE_ALL)
    + "\n\n"
    + _book("RestartServers", "Stop the chosen servers, then start them.", PORT_SERVERS)
)

SERVICE = '#!/bin/sh\nprintf "%s\\n" "$2" >> app.log\n'


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    with sshd_hosts(tmp_path / "sshd", names=["host1.stg", "host2.stg"]) as cluster:
        yield _project(tmp_path / "proj", cluster)


def _project(root: Path, cluster: SshdCluster) -> Path:
    for number, host in enumerate(cluster.hosts, start=1):
        (host.home / "file.txt").write_text("x\n" * (number * 10))
        (host.home / "bin").mkdir()
        (host.home / "bin" / "service").write_text(SERVICE)
        (host.home / "bin" / "service").chmod(0o755)
    config = cluster.inventory_config(
        host_vars={h.name: {"home": str(h.home)} for h in cluster.hosts}
    )
    return write_project(root, {"stg": MODULE}, package="stg_books", config=config)


def _details(root: Path, step: str) -> dict[str, Any]:
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        run = journal.runs()[0]
        return [t.detail for t in journal.transitions(run.id) if t.step_id == step][-1]
    finally:
        journal.close()


def test_the_ports_read_at_most_as_long_as_the_peer() -> None:
    assert len(PORT_CAPTURE_ALL) <= len(PEER_CAPTURE_ALL)
    assert len(PORT_SERVERS) <= len(PEER_SERVERS)
    assert len(PORT_SERVERS.splitlines()) <= len(PEER_SERVERS.splitlines())


def test_capture_all_keeps_one_value_per_server(project: Path) -> None:
    done = cli(project, "run", "general.count_lines", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _details(project, "num_lines")["host_outputs"] == {
        "num_lines": {"host1.stg": "10", "host2.stg": "20"}
    }


def test_servers_are_chosen_at_run_time_and_checked_first(project: Path, tmp_path: Path) -> None:
    homes = {h: tmp_path / "sshd" / "sshd" / h / "home" for h in ("host1.stg", "host2.stg")}
    done = cli(project, "run", "general.restart_servers", "--servers", "host2.stg", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (homes["host1.stg"] / "app.log").exists()
    assert (homes["host2.stg"] / "app.log").read_text() == "stop\nstart\n"

    refused = cli(
        project, "run", "general.restart_servers", "--servers", "host2.stg,host3.stg", "--yes"
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no host named 'host3.stg'" in refused.stderr
    assert "known hosts: host1.stg, host2.stg" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (homes["host2.stg"] / "app.log").read_text() == "stop\nstart\n"  # nothing ran
