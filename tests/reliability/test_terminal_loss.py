"""A gate waiting at a terminal whose terminal goes away leaves the run resumable."""

from __future__ import annotations

import time
from pathlib import Path

import pexpect
import pytest
from reliability_helpers import PYTHON, cli, cli_env, make_project, query

pytestmark = pytest.mark.slow

GATED = '''
class Gated(ob.Runbook):
    """Do a step, ask for approval, do another."""

    name = "term.gated"
    scope = "A ledger file."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    before = ob.Command("printf 'before\\\\n' >> ledger.txt")
    approve = ob.Gate("Go on?")
    after = ob.Command("printf 'after\\\\n' >> ledger.txt")
'''


def test_terminal_closing_at_a_gate_leaves_the_run_resumable(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"term/gated": GATED})
    child = pexpect.spawn(
        PYTHON,
        ["-m", "opsbooks", "run", "term.gated"],
        cwd=str(root),
        env=cli_env(),
        encoding="utf-8",
        timeout=30,
    )
    child.expect_exact("Approve? [y/n]: ")
    child.close(force=False)  # the terminal goes away: SIGHUP, then EOF on stdin
    deadline = time.monotonic() + 20
    while True:
        rows = query(root, "SELECT id, outcome FROM runs")
        if rows and rows[0][1] != "running":
            break
        assert time.monotonic() < deadline, f"run still marked running: {rows}"
        time.sleep(0.05)
    ((run_id, outcome),) = rows
    assert outcome in ("stopped", "interrupted"), outcome
    assert (root / "ledger.txt").read_text() == "before\n"
    answers = root / "answers.yaml"
    answers.write_text("approve: yes\n")
    resumed = cli(root, "resume", str(run_id), "--answers", str(answers))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (root / "ledger.txt").read_text() == "before\nafter\n"
    assert cli(root, "audit", "verify", str(run_id)).returncode == 0
