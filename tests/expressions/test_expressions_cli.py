"""Expressions and run-time placeholders end to end through the real CLI (slow tier).

A throwaway project holds ``exprbooks``; each run is a real ``python -m opsbooks``
process with real ``sh`` commands, and the journal is read back with SQLite.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_kit import cli, last_run, query

BOOKS = Path(__file__).resolve().parent / "exprbooks"
pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(BOOKS, tmp_path / "exprbooks", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "expr-test"\nversion = "0"\n\n'
        '[tool.opsbooks]\npackages = ["exprbooks"]\n'
    )
    return tmp_path


def journal(root: Path, run_id: str) -> list[tuple[str, str, str, str]]:
    rows = query(
        root,
        "SELECT step_id, status, COALESCE(reason, ''), COALESCE(detail, '') FROM transitions "
        "WHERE run_id=? ORDER BY rowid",
        run_id,
    )
    return [(a, b, c, d) for a, b, c, d in rows]


def test_dry_run_shows_what_the_params_decide(project: Path) -> None:
    done = cli(project, "run", "expr.canary", "--version", "1.2.0", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert 'only when: version >= "1.10.0" (false from the params: skipped)' in done.stdout
    assert "decided when it runs (it depends on answers or outputs)" in done.stdout


def test_a_stopped_run_resumes_with_the_route_outputs_and_answer_it_had(project: Path) -> None:
    (project / "error_rate.txt").write_text("3\n")
    first = cli(project, "run", "expr.canary")
    assert first.returncode == 3, first.stdout + first.stderr
    run_id = last_run(project)
    (project / "error_rate.txt").write_text("99\n")  # must not be re-read
    (project / "answers.yaml").write_text("watch: roll back\n")
    resumed = cli(project, "resume", run_id, "--answers", "answers.yaml")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "asked: Error rate 3% on 1.10.0: promote or roll back?" in resumed.stdout
    lines = (project / "canary.txt").read_text().splitlines()
    assert lines == ["1.10.0", "migrated", "rolled back 1.10.0"]
    rows = journal(project, run_id)
    assert [r[0] for r in rows if r[0] == "measure" and r[1] == "succeeded"] == ["measure"]
    assert any(r[0] == "decide" and '"route": "watch"' in r[3] for r in rows)
    promote = next(r for r in rows if r[0] == "promote")
    assert promote[1] == "skipped" and "answers.watch=roll back" in promote[2]


def test_a_low_rate_promotes_naming_the_run_in_the_command(project: Path) -> None:
    (project / "error_rate.txt").write_text("0.4\n")
    done = cli(project, "run", "expr.canary", "--environment", "prod")
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = last_run(project)
    lines = (project / "canary.txt").read_text().splitlines()
    assert lines[-1] == f"promoted 1.10.0 by run {run_id}"
    statuses = {r[0]: r[1] for r in journal(project, run_id)}
    assert statuses["page_prod"] == "skipped" and statuses["roll_back"] == "skipped"


def test_an_unknown_name_in_an_expression_is_bad_input(project: Path) -> None:
    (project / "exprbooks" / "broken.py").write_text(
        "import opsbooks as ob\n\n\n"
        "class Broken(ob.Runbook):\n"
        '    """Broken on purpose."""\n\n'
        '    name = "expr.broken"\n'
        '    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"\n\n'
        "    class Params(ob.Params):\n"
        "        rate: int = 1\n\n"
        '    check = ob.Command("true", when="rte > 5")\n'
    )
    done = cli(project, "run", "expr.broken")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "step 'check'" in done.stderr and "names 'rte'" in done.stderr
    assert "known names: rate" in done.stderr
