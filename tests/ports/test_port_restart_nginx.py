"""Port of braintree/runbook's "Restart Nginx" book (examples/restart_nginx.rb, and the
README's "Runbook Anatomy"), run through the CLI against a real sshd on loopback.

The peer's ``section "Restart Nginx"`` is an ``ob.Section``; its ``server "app01.prod"``
is ``hosts="app01.prod"`` on each remote step (``APP01`` below, as the peer sets it once
per section); ``note`` is ``note=``; ``wait 5`` is ``sleep 5``; ``confirm`` is a gate and
``notice`` a notification. The peer's ``assert`` (a check polled on the server until it
holds) is a ``RemoteWait``. The loopback host has no real nginx: a stand-in ``service``
script is first on its ``PATH`` (the one test-only line).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_kit import cli, write_project

from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow  # the CLI in subprocesses, a real sshd

# -- the port, as a user writes it ------------------------------------------------------

BOOK = '''
APP01 = {"hosts": "app01.prod", "env": {"PATH": "{host.bin}:/usr/bin:/bin"}}


class RestartNginx(ob.Runbook):
    """This is a simple runbook to restart nginx and verify it starts successfully."""

    scope, owner, last_reviewed = "Nginx on app01.prod.", "SRE", "2026-11-01"

    class restart_nginx(ob.Section):
        """Restart Nginx"""

        stop_nginx = ob.Remote("service nginx stop", note="Stopping Nginx...", **APP01)
        stopped = ob.RemoteWait('service nginx status | grep "not running"', **APP01)
        wait = ob.Command("sleep 5")
        start_nginx = ob.Remote("service nginx start", note="Starting Nginx...", **APP01)
        running = ob.RemoteWait('service nginx status | grep "is running"', **APP01)
        taking_traffic = ob.Gate.confirm("Nginx is taking traffic?")
        notice = ob.Notify("Make sure to report why you restarted nginx")
'''

# -- the stand-in nginx and the project ------------------------------------------------

SERVICE = """#!/bin/sh
state={state}
case "$2" in
  stop) echo stopped > "$state"; echo "Stopping nginx: nginx." ;;
  start) [ -e {broken} ] && exit 1; echo running > "$state"; echo "Starting nginx: nginx." ;;
  status) if [ "$(cat "$state")" = running ]; then echo "nginx is running"
          else echo "nginx is not running"; exit 3; fi ;;
esac
"""


def _project(root: Path, cluster: SshdCluster) -> Path:
    bin_dir = root / "app01-bin"
    bin_dir.mkdir(parents=True)
    service = bin_dir / "service"
    state = root / "nginx.state"
    state.write_text("running\n")
    service.write_text(SERVICE.format(state=state, broken=root / "broken"))
    service.chmod(0o755)
    config = cluster.inventory_config(host_vars={"app01.prod": {"bin": str(bin_dir)}})
    return write_project(root, {"web/restart_nginx": BOOK}, package="ports_books", config=config)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path / "sshd", names=["app01.prod"]) as running:
        yield running


# -- running it -------------------------------------------------------------------------


def test_restart_nginx_runs_its_section_on_app01(tmp_path: Path, cluster: SshdCluster) -> None:
    root = _project(tmp_path / "project", cluster)
    done = cli(root, "run", "web.restart_nginx", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "== 1. Restart Nginx ==" in out
    assert "[1/7] restart_nginx.stop_nginx: Stop nginx (remote)" in out
    assert "Stopping Nginx..." in out and "Starting Nginx..." in out
    assert out.index("Stopping Nginx...") < out.index("Starting Nginx...")
    assert "Make sure to report why you restarted nginx" in out
    assert (root / "nginx.state").read_text() == "running\n"


def test_a_failed_start_stops_the_section_and_resume_finishes_it(
    tmp_path: Path, cluster: SshdCluster
) -> None:
    root = _project(tmp_path / "project", cluster)
    (root / "broken").touch()
    first = cli(root, "run", "web.restart_nginx", "--yes")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "restart_nginx.start_nginx" in first.stdout
    run_id = first.stdout.split("as run ", 1)[1].split()[0]
    (root / "broken").unlink()
    second = cli(root, "resume", run_id, "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Stopping Nginx..." not in second.stdout  # done before: never run twice
    assert (root / "nginx.state").read_text() == "running\n"


def test_the_port_reads_at_least_as_short_as_the_peer() -> None:
    peer_lines = 22  # examples/restart_nginx.rb, non-blank lines
    ours = [line for line in BOOK.splitlines() if line.strip()]
    assert len(ours) <= peer_lines, len(ours)
