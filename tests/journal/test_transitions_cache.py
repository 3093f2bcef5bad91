"""A journal decodes a run's transitions once, and never serves a stale list.

``SqlJournal.transitions`` keeps what it decoded and reads only the rows added since;
these tests write behind its back (another journal on the same store, a row committed
out of ``seq`` order) and check every read equals a fresh journal's read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import Journal, RunRecord, open_journal
from opsbooks.testing.fakes import FakeIdentity

S = StepStatus


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    return str(request.getfixturevalue("pg_url"))


def _open(url: str) -> Journal:
    return open_journal(url, identity=FakeIdentity("ops1", pid=4242))


def _run(j: Journal, run_id: str) -> None:
    j.create_run(
        RunRecord(
            id=run_id, runbook="demo.book", fingerprint="f", params={}, options={},
            who="me", host="h", pid=1, started_at=1.0,
        )
    )  # fmt: skip


def _steps(j: Journal, run_id: str) -> list[tuple[str, S]]:
    return [(t.step_id, t.status) for t in j.transitions(run_id)]


def test_a_write_by_another_process_is_seen(url: str) -> None:
    ours, theirs = _open(url), _open(url)
    _run(ours, "r1")
    ours.record("r1", "a", S.RUNNING, at=1.0)
    assert _steps(ours, "r1") == [("a", S.RUNNING)]
    theirs.record("r1", "a", S.SUCCEEDED, at=2.0, detail={"outputs": {"v": "1"}})
    assert _steps(ours, "r1") == [("a", S.RUNNING), ("a", S.SUCCEEDED)]
    assert ours.transitions("r1")[-1].detail == {"outputs": {"v": "1"}}
    ours.record("r1", "b", S.RUNNING, at=3.0)
    assert ours.transitions("r1") == _open(url).transitions("r1")
    assert [t.seq for t in ours.transitions("r1")] == sorted(
        t.seq for t in theirs.transitions("r1")
    )
    ours.close()
    theirs.close()


def test_a_list_is_the_callers_own(url: str) -> None:
    j = _open(url)
    _run(j, "r1")
    j.record("r1", "a", S.RUNNING, at=1.0)
    first = j.transitions("r1")
    first.clear()
    assert len(j.transitions("r1")) == 1
    j.close()


def test_many_runs_each_read_right(url: str) -> None:
    j = _open(url)
    for index in range(20):
        _run(j, f"r{index}")
        for step in range(index % 3 + 1):
            j.record(f"r{index}", f"s{step}", S.RUNNING, at=1.0)
    for _ in range(2):  # the second pass reads past the cache's bound
        assert [len(j.transitions(f"r{i}")) for i in range(20)] == [i % 3 + 1 for i in range(20)]
    j.close()


def test_a_row_committed_out_of_seq_order_is_read(tmp_path: Path) -> None:
    """PostgreSQL hands out ``seq`` before commit: a lower one can appear later."""
    path = tmp_path / "journal.db"
    j = _open(f"sqlite:///{path}")
    _run(j, "r1")
    j.record("r1", "a", S.RUNNING, at=1.0)
    j.record("r1", "a", S.SUCCEEDED, at=2.0)
    j.record("r1", "b", S.RUNNING, at=3.0)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DELETE FROM transitions WHERE seq = 2")  # as if it had not committed yet
    db.execute("PRAGMA wal_checkpoint")
    assert [t.seq for t in j.transitions("r1")] == [1, 3]
    db.execute(
        "INSERT INTO transitions (seq, run_id, step_id, status, at) VALUES (2, 'r1', 'a',"
        " 'succeeded', 2.0)"
    )  # the late commit
    assert [t.seq for t in j.transitions("r1")] == [1, 2, 3]
    db.close()
    j.close()
