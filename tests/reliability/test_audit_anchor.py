"""The audit chain anchored in the journal at every line (issue 13 item 18), through the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest
from reliability_helpers import cli, journal_db, make_project

from opsbooks.plan.state import RunOutcome
from opsbooks.records.audit import GENESIS, _digest
from opsbooks.records.journal import open_journal

pytestmark = pytest.mark.slow

GATED = '''
class Gated(ob.Runbook):
    """A step, a gate, a step."""

    name = "aud.gated"
    scope = "a ledger"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    first = ob.Command("printf 'first\\\\n' >> ledger.txt")
    approve = ob.Gate.confirm("Go on?")
    last = ob.Command("printf 'last\\\\n' >> ledger.txt")
'''

NOTIFY = """
audit_anchor = "anchors"
[notify.anchors]
type = "file"
path = "anchors.log"
"""


def _project(tmp_path: Path, extra: str = "") -> Path:
    root, _ = make_project(tmp_path / "p", {"aud/gated": GATED}, extra_toml=extra)
    return root


def _audit(root: Path, run_id: str) -> Path:
    return root / ".opsbooks" / "runs" / f"{run_id}.jsonl"


def _run_id(text: str) -> str:
    found = re.search(r"opsbooks resume (\S+)", text) or re.search(r"run (\d{8}-\S+)", text)
    assert found, text
    return found.group(1)


def _stopped_run(root: Path) -> str:
    stopped = cli(root, "run", "aud.gated")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    return _run_id(stopped.stdout)


def test_a_file_cut_to_nothing_does_not_verify_and_resume_refuses_it(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_id = _stopped_run(root)
    _audit(root, run_id).write_text("")
    checked = cli(root, "audit", "verify", run_id)
    assert checked.returncode == 1 and "journal anchored" in checked.stdout
    resumed = cli(root, "resume", run_id, "--yes")
    assert resumed.returncode == 2 and "does not verify" in resumed.stderr
    assert not (root / "ledger.txt").read_text().count("last")


def test_a_consistent_rewrite_is_caught_by_the_journal_anchor(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_id = _stopped_run(root)
    path = _audit(root, run_id)
    prev, lines = GENESIS, []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        data.pop("hash")
        data["prev"] = prev
        if data.get("event") == "run_started":
            data["who"] = "someone-else"
        data["hash"] = prev = _digest(data)
        lines.append(json.dumps(data, sort_keys=True))
    path.write_text("\n".join(lines) + "\n")
    checked = cli(root, "audit", "verify", run_id)
    assert checked.returncode == 1 and "anchor" in checked.stdout


def test_an_approver_edited_in_the_journal_is_caught(tmp_path: Path) -> None:
    root = _project(tmp_path)
    run_id = _stopped_run(root)
    done = cli(root, "resume", run_id, "--yes")
    assert done.returncode == 0
    db = sqlite3.connect(journal_db(root))
    with db:
        db.execute("UPDATE gates SET approver='mallory' WHERE run_id=?", (run_id,))
    db.close()
    checked = cli(root, "audit", "verify", run_id)
    assert checked.returncode == 1 and "mallory" in checked.stdout


def test_the_head_goes_to_an_external_anchor_channel(tmp_path: Path) -> None:
    root = _project(tmp_path, NOTIFY)
    done = cli(root, "run", "aud.gated", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    anchors = (root / "anchors.log").read_text()
    head = json.loads(_audit(root, _run_id_of_last(root)).read_text().splitlines()[-1])["hash"]
    assert head in anchors and head in done.stdout


def _run_id_of_last(root: Path) -> str:
    return sorted(p.stem for p in (root / ".opsbooks" / "runs").glob("*.jsonl"))[-1]


KILLED = '''
class Killed(ob.Runbook):
    """The second step kills the runner: a crash, with no end-of-run bookkeeping."""

    name = "aud.killed"
    scope = "a ledger"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    first = ob.Command("printf 'first\\\\n' >> ledger.txt")
    crash = ob.Command("kill -9 $PPID; sleep 5", idempotent=True)
'''


def test_a_crashed_runs_audit_cut_to_nothing_does_not_verify(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"aud/killed": KILLED})
    crashed = cli(root, "run", "aud.killed")
    assert crashed.returncode == -9
    run_id = _run_id_of_last(root)
    assert cli(root, "audit", "verify", run_id).returncode == 0  # intact as the crash left it
    _audit(root, run_id).write_text("")
    checked = cli(root, "audit", "verify", run_id)
    assert checked.returncode == 1 and "journal anchored" in checked.stdout


WINDOW = '''
class Window(ob.Runbook):
    """A gate, then a step that kills the runner the first time (a crash, no bookkeeping)."""

    name = "aud.window"
    scope = "a ledger"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    approve = ob.Gate.confirm("Go on?")
    crash = ob.Command("test -e crashed || { touch crashed; kill -9 $PPID; }", idempotent=True)
    last = ob.Command("printf 'last\\\\n' >> ledger.txt")
'''


def _killed_one_decision_ahead(tmp_path: Path) -> tuple[Path, str]:
    """A run killed with the journal one gate decision ahead of its audit file.

    That is the state a kill leaves between journaling a decision and writing its
    line: the decision is journaled again here, in-process, as the killed process had.
    """
    root, _ = make_project(tmp_path / "p", {"aud/window": WINDOW})
    crashed = cli(root, "run", "aud.window", "--yes")
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    run_id = _run_id_of_last(root)
    journal = open_journal(f"sqlite:///{journal_db(root)}")
    try:
        journal.record_gate(journal.gates(run_id)[0])
        assert journal.get_run(run_id).outcome == "running"
    finally:
        journal.close()
    return root, run_id


def test_a_decision_journaled_before_a_kill_is_audited_on_resume(tmp_path: Path) -> None:
    root, run_id = _killed_one_decision_ahead(tmp_path)
    checked = cli(root, "audit", "verify", run_id)
    assert checked.returncode == 0, checked.stdout  # the crash window, while in flight
    resumed = cli(root, "resume", run_id, "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (root / "ledger.txt").read_text() == "last\n"
    lines = [json.loads(line) for line in _audit(root, run_id).read_text().splitlines()]
    gates = [
        (g["step"], g["approver"], bool(g.get("recovered")))
        for g in lines
        if g["event"] == "gate_answered"
    ]
    who = gates[0][1]
    # the decision, then the one journaled again: its line written on resume (the gate
    # step had finished before the kill, so it is not asked again)
    assert gates == [("approve", who, False), ("approve", who, True)]
    done = cli(root, "audit", "verify", run_id)
    assert done.returncode == 0, done.stdout


def test_a_finished_run_one_decision_ahead_does_not_verify(tmp_path: Path) -> None:
    root, run_id = _killed_one_decision_ahead(tmp_path)
    journal = open_journal(f"sqlite:///{journal_db(root)}")
    try:
        journal.finish_run(run_id, RunOutcome.FAILED, ended_at=time.time(), reason="test")
    finally:
        journal.close()
    checked = cli(root, "audit", "verify", run_id)
    assert checked.returncode == 1
    assert "the journal holds 2 gate decision(s), the audit 1" in checked.stdout
