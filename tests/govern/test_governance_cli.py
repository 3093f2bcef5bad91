"""``opsbooks lint``, ``stats`` and ``review`` through the real CLI, in a temp project
that is a real git repository, with a journal filled by real runs: successes, a failure
that escalates, a gate a person waited on at a terminal, and two drills with RTO/RPO.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

pytestmark = pytest.mark.slow  # the CLI in subprocesses, real git, a pseudo-terminal

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable
TODAY = dt.date.today().isoformat()

COMMON = f'''
    scope, owner, last_reviewed = "The shop.", "SRE", "{TODAY}"
    prerequisites = ["Access to the shop hosts."]
    verification = ["The shop answers."]
    troubleshooting = [ob.Trouble("It fails", "A flag file", "Remove fail.flag.")]
    recovery = "Run it again."
    changelog = [ob.Change("2026-01-01", "First")]
'''
RESTART = '''
import opsbooks as ob


class Restart(ob.Runbook):
    """Restart the shop."""
{common}
    severity = "high"
    related = ["ops.failover"]

    approve = ob.Gate.confirm("Restart the shop?", description="Check no deploy runs.")
    apply = ob.Command("test ! -f fail.flag && echo restarted", irreversible="a restart")
'''
FAILOVER = '''
import opsbooks as ob


class Failover(ob.Runbook):
    """Fail the shop over to the standby."""
{common}
    severity = "critical"

    switch = ob.Command("echo switched", irreversible="switching back is a new failover")
'''
DRILL = '''
import opsbooks as ob


class Drill(ob.Runbook):
    """Restore the shop into a scratch copy and time it."""
{common}
    rto, rpo = "15m", "1h"
    rto_steps = ("find", "restore")

    find = ob.Command("echo found", irreversible="read-only")
    restore = ob.Command("echo ::metric rpo_seconds=42", irreversible="scratch only")
'''
BAD = '''
import opsbooks as ob


class Broken(ob.Runbook):
    """A runbook that breaks the rules."""

    scope, owner, last_reviewed = "Nothing.", "SRE", "2025-01-01"
    related = ["ops.nowhere"]

    approve = ob.Gate.confirm("Go?")
    wipe = ob.Command("echo wipe")
'''
CONFIG = f"""
packages = ["gov_books"]

[contacts]
L1 = "#ops-oncall"

[lint]
contacts_verified = "{TODAY}"

[stats]
mttr_targets = {{ high = "1h", critical = "1s" }}

[review]
require_distinct_reviewer = true
"""


def _env(user: str = "Ann") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOOKS_", "GIT_"))}
    env.update(
        OPSBOOKS_USER=user,
        PYTHONDONTWRITEBYTECODE="1",
        GIT_AUTHOR_NAME="Ann",
        GIT_AUTHOR_EMAIL="ann@example.org",
        GIT_COMMITTER_NAME="Ann",
        GIT_COMMITTER_EMAIL="ann@example.org",
        HOME=env.get("HOME", "/tmp"),
    )
    return env


def _cli(root: Path, *args: str, user: str = "Ann") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "opsbooks", *args],
        cwd=root, capture_output=True, text=True, timeout=90, env=_env(user),
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=_env(), check=True, capture_output=True)


def _write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git project whose journal holds real runs of three runbooks."""
    root = tmp_path_factory.mktemp("governance")
    _write(root, "opsbooks.toml", CONFIG)
    _write(root, "gov_books/__init__.py", "")
    _write(root, "gov_books/ops/__init__.py", "")
    for name, text in (("restart", RESTART), ("failover", FAILOVER), ("drill", DRILL)):
        _write(root, f"gov_books/ops/{name}.py", text.replace("{common}", COMMON))
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "first runbooks")
    restart = root / "gov_books/ops/restart.py"
    restart.write_text(restart.read_text() + "\n# tuned\n")
    _git(root, "commit", "-q", "-am", "tune the restart")
    _runs(root)
    return root


def _runs(root: Path) -> None:
    # a person at a terminal reads the gate for a second, then approves
    child = pexpect.spawn(
        PYTHON, ["-m", "opsbooks", "run", "ops.restart"], cwd=str(root), env=_env(),
        encoding="utf-8", timeout=30, dimensions=(40, 200),
    )  # fmt: skip
    child.expect(r"\[y/n\]: ")
    time.sleep(1.2)
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    (root / "fail.flag").write_text("")
    failed = _cli(root, "run", "ops.restart", "--yes")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    (root / "fail.flag").unlink()
    for args in (("ops.failover",), ("ops.restart",), ("ops.drill",), ("ops.drill",)):
        done = _cli(root, "run", *args, "--yes")
        assert done.returncode == 0, done.stdout + done.stderr


def test_stats_reports_real_figures_as_json(project: Path) -> None:
    done = _cli(project, "stats", "--since", "90d", "--format", "json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    restart, overall = data["runbooks"]["ops.restart"], data["overall"]
    assert (restart["runs"], restart["succeeded"], restart["escalated"]) == (3, 2, 1)
    assert restart["success_rate"] == pytest.approx(2 / 3, abs=0.001)
    assert restart["gate_wait_seconds"] >= 1.0  # the person who read the gate
    assert 0 < restart["automation_coverage"] < 1  # the gate's wait counts as manual
    assert restart["median_seconds"] <= restart["p90_seconds"]
    assert restart["commits"] == 2 and data["runbooks"]["ops.drill"]["commits"] == 1
    assert (overall["runs"], overall["succeeded"], overall["commits"]) == (6, 5, 4)
    assert [u["runbook"] for u in data["usage"]] == ["ops.restart", "ops.drill", "ops.failover"]
    mttr = {m["severity"]: m for m in data["mttr"]}
    assert mttr["high"]["incidents"] == 2 and mttr["high"]["met"] is True
    assert mttr["critical"]["incidents"] == 1 and mttr["critical"]["target_seconds"] == 1.0
    assert [d["runbook"] for d in data["drills"]] == ["ops.drill", "ops.drill"]
    assert all(d["rto_met"] and d["rpo_seconds"] == 42.0 and d["rpo_met"] for d in data["drills"])
    assert data["failing_steps"] == [{"runbook": "ops.restart", "step": "apply", "failures": 1}]


def test_stats_table_and_markdown_report_with_charts(project: Path) -> None:
    table = _cli(project, "stats")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith("ops.restart"))
    assert row.split()[1:4] == ["3", "67%", "33%"]
    assert "high:" in table.stdout and "(met)" in table.stdout
    done = _cli(project, "stats", "--format", "markdown")
    assert done.returncode == 0, done.stderr
    report = (project / "docs" / "operations-report.md").read_text()
    assert "| ops.restart | 3 | 67% | 33% |" in report
    for image in ("operations-runs.png", "operations-mttr.png", "operations-drills.png"):
        assert f"]({image})" in report
        assert (project / "docs" / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_since_that_is_neither_a_duration_nor_a_date(project: Path) -> None:
    done = _cli(project, "stats", "--since", "last tuesday")
    assert done.returncode == 2
    assert "--since 'last tuesday' is neither a duration nor a date" in done.stderr
    assert "Traceback" not in done.stderr


def test_lint_passes_on_the_project_and_fails_on_a_broken_runbook(project: Path) -> None:
    clean = _cli(project, "lint")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.strip() == "3 runbook(s) checked: 0 error(s), 0 warning(s)"
    _write(project, "gov_books/bad/__init__.py", "")
    _write(project, "gov_books/bad/broken.py", BAD)
    try:
        broken = _cli(project, "lint")
        assert broken.returncode == 1, broken.stdout + broken.stderr
        rules = sorted(line.split()[0] for line in broken.stdout.splitlines()[:-1])
        assert rules == sorted(
            ["section-missing"] * 4
            + ["review-overdue", "not-exercised", "gate-undescribed", "undo-missing"]
            + ["related-unknown"]
        )
        assert "gate-undescribed error bad.broken: gate approve" in broken.stdout
        as_json = json.loads(_cli(project, "lint", "bad.broken", "--format", "json").stdout)
        assert {f["rule"] for f in as_json} >= {"undo-missing", "related-unknown"}
    finally:
        for leftover in ("broken.py", "__init__.py"):
            (project / "gov_books/bad" / leftover).unlink()
        (project / "gov_books/bad").rmdir()


def test_lint_fails_when_a_catalog_module_does_not_import(project: Path) -> None:
    module = project / "gov_books/ops/needs_missing.py"
    module.write_text("import opsbooks_no_such_dependency  # noqa\n")
    try:
        text = _cli(project, "lint")
        assert text.returncode == 1, text.stdout + text.stderr
        line = next(x for x in text.stdout.splitlines() if x.startswith("catalog-import"))
        assert line.startswith("catalog-import error gov_books.ops.needs_missing: ")
        assert "No module named 'opsbooks_no_such_dependency'" in line
        assert 'python -c "import gov_books.ops.needs_missing"' in line
        assert text.stdout.splitlines()[-1].endswith(": 1 error(s), 0 warning(s)")
        as_json = _cli(project, "lint", "--format", "json")
        assert as_json.returncode == 1
        assert [(f["rule"], f["severity"], f["runbook"]) for f in json.loads(as_json.stdout)] == [
            ("catalog-import", "error", "gov_books.ops.needs_missing")
        ]
        named = _cli(project, "lint", "ops.restart")  # a broken module elsewhere is not its
        assert named.returncode == 0, named.stdout + named.stderr
        hint = subprocess.run(
            [PYTHON, "-c", "import gov_books.ops.needs_missing"],
            cwd=project, capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        assert "ModuleNotFoundError" in hint.stderr  # the fix's command shows the error
    finally:
        module.unlink()


def test_lint_config_naming_an_unknown_rule_is_exit_2(tmp_path: Path) -> None:
    _write(tmp_path, "opsbooks.toml", 'packages = ["nothing_here"]\n[lint]\ndisable = ["nope"]\n')
    done = _cli(tmp_path, "lint")
    assert done.returncode == 2
    assert "unknown rule(s): nope" in done.stderr and "undo-missing" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_review_refuses_the_last_author_prints_then_edits(project: Path) -> None:
    module = project / "gov_books/ops/failover.py"
    before = module.read_text()
    refused = _cli(project, "review", "ops.failover", "--notes", "ok", user="Ann")
    assert refused.returncode == 2
    assert "Ann wrote the last change to failover.py" in refused.stderr
    shown = _cli(project, "review", "ops.failover", "--notes", "walked it", "--print", user="Bob")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("--- a/gov_books/ops/failover.py\n+++ b/gov_books/ops/")
    assert f'+        ob.Change("{TODAY}", "Reviewed: walked it", author="Bob"),' in shown.stdout
    assert module.read_text() == before  # --print writes nothing
    done = _cli(project, "review", "ops.failover", "--notes", "walked it", user="Bob")
    assert done.returncode == 0, done.stderr
    diff = subprocess.run(
        ["git", "diff", "--", "gov_books/ops/failover.py"],
        cwd=project, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert shown.stdout.splitlines()[3:] == diff.splitlines()[5:]  # the printed edit, exactly
    shown_page = _cli(project, "show", "ops.failover")
    assert "Reviewed: walked it" in shown_page.stdout and "Bob" in shown_page.stdout
