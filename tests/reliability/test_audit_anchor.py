"""The audit chain anchored in the journal at every line (issue 13 item 18), through the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from reliability_helpers import cli, journal_db, make_project

from opsbooks.records.audit import GENESIS, _digest

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
