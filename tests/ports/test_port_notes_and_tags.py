"""Port of braintree/runbook's ``note`` and tags examples, run through the real CLI.

The peer's README "Runbook Anatomy" (examples/restart_nginx.rb) prints a ``note`` as
each step starts ("Stopping Nginx...") and a ``notice`` at the end; its "Tags and
Labels" book "Bounce Nodes" tags the optional "Disable monitoring" step ``:skip``.
Here a note is the ``note=`` keyword, the notice is a note on the last step, and the
peer's skip hook is the run-time flag ``--skip-tags skip``. The peer's ``server
"app01.prod"`` is left out: the nginx steps run locally against a fake ``service``
(the remote port with a section is another test's).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cli_kit import cli, query, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

# -- the port, as a user writes it ------------------------------------------------------

RESTART_NGINX = '''
class RestartNginx(ob.Runbook):
    """Restart nginx and verify it starts successfully."""

    scope, owner, last_reviewed = "The app servers.", "SRE", "2026-11-01"

    stop = ob.Command("service nginx stop", note="Stopping Nginx...")
    stopped = ob.WaitUntil('service nginx status | grep "not running"')
    pause = ob.Command("sleep 5")
    start = ob.Command("service nginx start", note="Starting Nginx...")
    running = ob.WaitUntil('service nginx status | grep "is running"')
    traffic = ob.Gate.confirm(
        "Nginx is taking traffic?", note="Make sure to report why you restarted nginx"
    )
'''

BOUNCE_NODES = '''
class BounceNodes(ob.Runbook):
    """Bounce the nodes."""

    scope, owner, last_reviewed = "The web nodes.", "SRE", "2026-11-01"

    disable_monitoring = ob.Gate.confirm("Have you disabled health monitoring?", tags="skip")
    restart_nodes = ob.Gate.confirm(
        "Have you restarted the nodes?", tags=("aws_only", "mutator", "production")
    )
'''

SERVICE = """#!/bin/sh
# a stand-in for service(8): remembers nginx's state in ./nginx.state
case "$2" in
  stop) echo stopped > nginx.state ;;
  start) echo running > nginx.state ;;
  status) if grep -q running nginx.state 2>/dev/null; then echo "nginx is running";
          else echo "nginx not running"; fi ;;
esac
"""

# -- running it -------------------------------------------------------------------------


def _project(root: Path) -> Path:
    modules = {"web/restart_nginx": RESTART_NGINX, "web/bounce_nodes": BOUNCE_NODES}
    write_project(root, modules, package="port_notes_books", files={"bin/service": SERVICE})
    (root / "bin" / "service").chmod(0o755)
    return root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return cli(root, *args, PATH=f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")


def test_restart_nginx_prints_its_purpose_and_each_note_as_the_step_starts(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    done = _cli(root, "run", "web.restart_nginx", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "  Restart nginx and verify it starts successfully."
    stop = lines.index("[1/6] stop: Stop (command)")
    assert lines[stop + 1 : stop + 3] == ["    $ service nginx stop", "    Stopping Nginx..."]
    assert "    Starting Nginx..." in lines
    assert "    Make sure to report why you restarted nginx" in lines
    assert (root / "nginx.state").read_text() == "running\n"
    notes = query(
        root,
        "SELECT step_id, json_extract(detail, '$.note') FROM transitions "
        "WHERE status = 'running' AND json_extract(detail, '$.note') IS NOT NULL",
    )
    assert [step for step, _ in notes] == ["stop", "start", "traffic"]


def test_bounce_nodes_skips_the_tagged_step_at_run_time(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = _cli(root, "run", "web.bounce_nodes", "--skip-tags", "skip", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "    disable_monitoring: skipped (tagged skip (--skip-tags))" in done.stdout
    assert "Have you restarted the nodes?" in done.stdout
    rows = query(root, "SELECT step_id, status, reason FROM transitions ORDER BY seq")
    assert ("disable_monitoring", "skipped", "tagged skip (--skip-tags)") in rows
    assert ("restart_nodes", "succeeded", "") in [(s, st, r or "") for s, st, r in rows]


def test_only_tags_and_the_dry_run_show_the_selection(tmp_path: Path) -> None:
    root = _project(tmp_path)
    dry = _cli(root, "run", "web.bounce_nodes", "--only-tags", "production", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "       skipped: not tagged production (--only-tags)" in dry.stdout
    assert "       tags: aws_only, mutator, production" in dry.stdout
    bad = _cli(root, "run", "web.bounce_nodes", "--only-tags", "prod", "--yes")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "has no step tagged 'prod'; its tags are: aws_only, mutator, production" in bad.stderr


def test_the_port_reads_at_least_as_short_as_the_peer() -> None:
    # The peer: examples/restart_nginx.rb (26 lines) and the README's Bounce Nodes book
    # with its skip hook (8 + 5 lines).
    peer_lines = 26 + 8 + 5
    ours = [line for line in (RESTART_NGINX + BOUNCE_NODES).splitlines() if line.strip()]
    assert len(ours) <= peer_lines, len(ours)
