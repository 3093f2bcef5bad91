"""Sections and Include end to end through the real CLI, each command in a subprocess:
run (headings, journal ids), dry run, ``--start-at``/``--skip`` by section, a bad
section id (exit 2, no traceback), failure then resume, the report and ``show``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_kit import cli, lines_of, query, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

CHILD = '''
class RestartApp(ob.Runbook):
    """Restart the app on one host."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    class Params(ob.Params):
        host: str

    stop = ob.Command("echo stop {host} >> work.log", undo="start")
    start = ob.Command("echo start {host} >> work.log")
    check = ob.Command("test ! -e fail-flag && echo check {host} >> work.log")
'''

PARENT = '''
from books.web.restart_app import RestartApp


class Maintain(ob.Runbook):
    """Drain the host, restart its app, put it back."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    class Params(ob.Params):
        target: str = "web1"

    announce = ob.Command("echo announce {target} >> work.log")

    class drain(ob.Section):
        """Drain the host"""

        approve = ob.Gate.confirm("Drain {target}?")
        take_out = ob.Command("echo out {target} >> work.log", undo="put_back", when="approve")
        put_back = ob.Command("echo in {target} >> work.log")

    restart = ob.Include(RestartApp, params={"host": "{target}.internal"})
    finish = ob.Command("echo finish {target} >> work.log")
'''


def _project(root: Path) -> Path:
    return write_project(root, {"web/restart_app": CHILD, "web/maintain": PARENT})


def _log(root: Path) -> list[str]:
    return lines_of(root / "work.log")


def _run_id(output: str) -> str:
    found = re.search(r"as run (\S+)", output)
    assert found, output
    return found.group(1)


def _journal_ids(root: Path, run_id: str) -> list[str]:
    rows = query(
        root,
        "SELECT step_id FROM transitions WHERE run_id = ? AND status = 'succeeded' ORDER BY rowid",
        run_id,
    )
    return [row[0] for row in rows]


def test_a_run_heads_sections_binds_the_include_and_journals_dotted_ids(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli(root, "run", "web.maintain", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _log(root) == [
        "announce web1",
        "out web1",
        "stop web1.internal",
        "check web1.internal",
        "finish web1",
    ]
    lines = done.stdout.splitlines()
    assert lines[lines.index("== 2. Drain the host ==") + 1].startswith("[2/6] drain.approve")
    assert "== 3. Restart App ==" in lines
    assert _journal_ids(root, _run_id(done.stdout)) == [
        "announce",
        "drain.approve",
        "drain.take_out",
        "restart.stop",
        "restart.check",
        "finish",
    ]


def test_the_dry_run_and_the_page_show_the_sections(tmp_path: Path) -> None:
    root = _project(tmp_path)
    dry = cli(root, "run", "web.maintain", "--dry-run", "--target", "web9")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "  3. restart: Restart App [includes web.restart_app]" in dry.stdout
    assert "         $ echo stop web9.internal >> work.log" in dry.stdout
    assert _log(root) == []
    page = cli(root, "show", "web.maintain")
    assert page.returncode == 0, page.stderr
    assert "### 2. Drain the host" in page.stdout and "#### 2.2 Take out" in page.stdout
    assert "includes [`web.restart_app`](../web/restart_app.md)" in page.stdout
    assert 'subgraph section_restart["3. Restart App"]' in page.stdout


def test_start_at_and_skip_take_section_ids(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli(root, "run", "web.maintain", "--yes", "--start-at", "restart")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _log(root) == ["stop web1.internal", "check web1.internal", "finish web1"]
    (root / "work.log").unlink()
    done = cli(root, "run", "web.maintain", "--yes", "--skip", "drain", "--skip", "restart")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _log(root) == ["announce web1", "finish web1"]


def test_an_unknown_section_is_exit_2_listing_the_known_ids(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli(root, "run", "web.maintain", "--yes", "--skip", "drian")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--skip drian: web.maintain has no step or section 'drian'" in done.stderr
    assert "its sections are: drain, restart" in done.stderr
    assert "Traceback" not in done.stderr and _log(root) == []


def test_a_failure_in_the_include_resumes_there_and_the_report_groups_by_section(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    (root / "fail-flag").touch()
    first = cli(root, "run", "web.maintain", "--yes", "--no-rollback")
    assert first.returncode == 1, first.stdout + first.stderr
    run_id = _run_id(first.stdout)
    assert "restart.check" in first.stdout
    (root / "fail-flag").unlink()
    second = cli(root, "resume", run_id, "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert _log(root)[-2:] == ["check web1.internal", "finish web1"]
    assert _log(root).count("stop web1.internal") == 1  # never twice
    report = cli(root, "report", run_id)
    assert report.returncode == 0, report.stderr
    assert "| **3. Restart App** | | | | | |" in report.stdout
    assert "| `restart.check` | succeeded |" in report.stdout
