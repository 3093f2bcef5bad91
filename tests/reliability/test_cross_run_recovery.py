"""Resuming a run after a newer run of the same runbook changed what is in place
(found by the stateful model test): the older run's record is reconciled with the newer
run's journaled facts before it resumes, through the real CLI."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from reliability_helpers import cli, latest_states, make_project, query, spawn

pytestmark = pytest.mark.slow

COUNTED = '''
class Counted(ob.Runbook):
    """a puts a marker in place and counts its runs; b needs b.ok."""

    name = "rec.counted"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    a = ob.Command(
        "test ! -e a.fail && echo run >> a.count && touch a.on",
        undo=ob.Command("rm -f a.on", idempotent=True),
    )
    b = ob.Command("test -e b.ok")
'''


def _runs(root: Path) -> list[str]:
    return [str(r[0]) for r in query(root, "SELECT id FROM runs ORDER BY started_at")]


def _count(root: Path) -> int:
    path = root / "a.count"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_step_undone_by_a_newer_runs_rollback_runs_again_on_resume(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/counted": COUNTED})
    older = cli(root, "run", "rec.counted", "--no-rollback")
    assert older.returncode == 1, older.stdout + older.stderr
    newer = cli(root, "run", "rec.counted")  # a again, b fails, the rollback undoes a
    assert newer.returncode == 1, newer.stdout + newer.stderr
    first, second = _runs(root)
    assert not (root / "a.on").exists()
    (root / "b.ok").touch()

    resumed = cli(root, "resume", first, "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert re.search(rf"a: undone by the rollback of run {second}", resumed.stdout)
    assert (root / "a.on").exists(), "the resumed run ended succeeded with a undone"
    assert _count(root) == 3
    assert latest_states(root, first) == {"a": "succeeded", "b": "succeeded"}
    assert cli(root, "audit", "verify", first).returncode == 0


def test_a_step_a_newer_run_did_is_not_done_twice_on_resume(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/counted": COUNTED})
    (root / "a.fail").touch()
    older = cli(root, "run", "rec.counted", "--no-rollback")
    assert older.returncode == 1, older.stdout + older.stderr
    (root / "a.fail").unlink()
    newer = cli(root, "run", "rec.counted", "--no-rollback")  # a done, b fails
    assert newer.returncode == 1, newer.stdout + newer.stderr
    first, second = _runs(root)
    assert _count(root) == 1
    (root / "b.ok").touch()

    resumed = cli(root, "resume", first, "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"a: done by run {second}" in resumed.stdout
    assert _count(root) == 1, "a non-idempotent step ran twice across two runs"
    reconciled = query(
        root,
        "SELECT detail FROM transitions WHERE run_id=? AND step_id='a' ORDER BY seq DESC",
        first,
    )
    assert second in str(reconciled[0][0])


CUT_OFF = '''
class CutOff(ob.Runbook):
    """a puts a marker in place; b is cut off in flight by a crash the first time."""

    name = "rec.cut_off"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    a = ob.Command("touch a.on", undo=ob.Command("rm -f a.on", idempotent=True))
    b = ob.Command(
        "test ! -e b.fail && touch b.started && while test -e b.hang; do sleep 0.05; done",
        idempotent=True,
    )
'''


def test_a_step_cut_off_in_flight_waits_while_an_undone_step_before_it_runs_again(
    tmp_path: Path,
) -> None:
    """Run 1 dies with b in flight; run 2's rollback undoes a; resuming run 1 re-runs a
    while b is recorded stopped, never two steps `running` at once (invariant 1)."""
    root, _ = make_project(tmp_path / "p", {"rec/cut_off": CUT_OFF})
    (root / "b.hang").touch()
    crashed = spawn(root, "run", "rec.cut_off")
    deadline = time.monotonic() + 60
    while not (root / "b.started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(crashed.pid, signal.SIGKILL)  # a crash: no rollback, b stays `running`
    crashed.wait(30)
    (root / "b.hang").unlink()
    (root / "b.fail").touch()
    newer = cli(root, "run", "rec.cut_off", "--force")  # a again, b fails, a undone
    assert newer.returncode == 1, newer.stdout + newer.stderr
    assert not (root / "a.on").exists()
    (root / "b.fail").unlink()
    first, _second = _runs(root)

    resumed = cli(root, "resume", first, "--yes", "--force")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (root / "a.on").exists()
    rows = query(root, "SELECT step_id, status FROM transitions WHERE run_id=? ORDER BY seq", first)
    in_flight: set[str] = set()
    for step_id, status in rows:
        if status in ("running", "compensating"):
            in_flight.add(str(step_id))
        else:
            in_flight.discard(str(step_id))
        assert len(in_flight) <= 1, f"two steps in flight: {sorted(in_flight)} in {rows}"
    assert latest_states(root, first) == {"a": "succeeded", "b": "succeeded"}
