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

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsbooks.testing.sshd import SshdCluster, sshd_hosts

pytestmark = pytest.mark.slow  # the CLI in subprocesses, a real sshd

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable

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


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def _project(root: Path, cluster: SshdCluster) -> Path:
    bin_dir = root / "app01-bin"
    bin_dir.mkdir(parents=True)
    service = bin_dir / "service"
    state = root / "nginx.state"
    state.write_text("running\n")
    service.write_text(SERVICE.format(state=state, broken=root / "broken"))
    service.chmod(0o755)
    (root / "ports_books" / "web").mkdir(parents=True)
    (root / "ports_books" / "__init__.py").write_text("")
    (root / "ports_books" / "web" / "__init__.py").write_text("")
    body = "from __future__ import annotations\n\nimport opsbooks as ob\n" + BOOK
    (root / "ports_books" / "web" / "restart_nginx.py").write_text(textwrap.dedent(body))
    config = cluster.inventory_config(host_vars={"app01.prod": {"bin": str(bin_dir)}})
    lines = ['packages = ["ports_books"]']
    for name, table in config["hosts"].items():
        lines.append(f'\n[hosts."{name}"]')
        lines += [f"{k} = {_toml(v)}" for k, v in table.items() if k != "vars"]
        lines.append(f'\n[hosts."{name}".vars]')
        lines += [f"{k} = {_toml(v)}" for k, v in table["vars"].items()]
    lines.append("\n[ssh]")
    lines += [f"{k} = {_toml(v)}" for k, v in config["ssh"].items()]
    (root / "opsbooks.toml").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SshdCluster]:
    with sshd_hosts(tmp_path / "sshd", names=["app01.prod"]) as running:
        yield running


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOKS_")}
    env.update({"OPSBOOKS_USER": "porter", "PYTHONDONTWRITEBYTECODE": "1"})
    return subprocess.run(
        [PYTHON, "-m", "opsbooks", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


# -- running it -------------------------------------------------------------------------


def test_restart_nginx_runs_its_section_on_app01(tmp_path: Path, cluster: SshdCluster) -> None:
    root = _project(tmp_path / "project", cluster)
    done = _cli(root, "run", "web.restart_nginx", "--yes")
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
    first = _cli(root, "run", "web.restart_nginx", "--yes")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "restart_nginx.start_nginx" in first.stdout
    run_id = first.stdout.split("as run ", 1)[1].split()[0]
    (root / "broken").unlink()
    second = _cli(root, "resume", run_id, "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Stopping Nginx..." not in second.stdout  # done before: never run twice
    assert (root / "nginx.state").read_text() == "running\n"


def test_the_port_reads_at_least_as_short_as_the_peer() -> None:
    peer_lines = 22  # examples/restart_nginx.rb, non-blank lines
    ours = [line for line in BOOK.splitlines() if line.strip()]
    assert len(ours) <= peer_lines, len(ours)
