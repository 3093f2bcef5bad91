"""``step_states`` and ``current`` answer what every transition answers (issue 18, row 4).

A resume reads each step's latest status and the rows that carry a detail instead of
decoding the whole run; these tests drive random transition sequences through a real
journal (SQLite, and PostgreSQL in the slow tier) and check, after every write, that
both reads equal what the full ``transitions`` list gives, for every helper the walk
and a run's end feed them to, including writes by another journal behind its back and
a row committed out of ``seq`` order.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from opsbooks.define import outputs
from opsbooks.errors import JournalError
from opsbooks.plan.state import AGAIN, ALLOWED, DONE, StepStatus
from opsbooks.records.journal import Journal, RunRecord, Transition, open_journal
from opsbooks.run import diagnosis, host_outputs, selection
from opsbooks.run.per_host import _marked_done
from opsbooks.run.runner import _abandoned, _recorded_routes
from opsbooks.testing.fakes import FakeIdentity

S = StepStatus

#: details the walk reads, and the empty one most rows carry
_DETAILS: list[dict[str, object]] = [
    {},
    {},
    {},
    {"outputs": {"v": "1"}},
    {"route": "left"},
    {"abandoned": True},
    {"on_failure": "continue"},
    {"mark_done": True},
    {"diagnosis": "leaf", "finding": "found"},
    {"host_outputs": {"v": {"web1": "x"}}},
    {"outputs": {"t": "***"}, "tainted_outputs": ["t"]},
]


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


def _answers(rows: list[Transition]) -> tuple[object, ...]:
    succeeded = [t.detail for t in rows if t.status is S.SUCCEEDED]
    return (
        _recorded_routes(rows),
        _abandoned(rows),
        selection.continued_failures(rows),
        _marked_done(rows),
        outputs.recorded(succeeded),
        outputs.tainted(succeeded),
        host_outputs.replay(rows),
        diagnosis.reached(rows),
    )


def _check(j: Journal, run_id: str) -> None:
    every = j.transitions(run_id)
    latest = {t.step_id: t.status for t in every}
    assert j.step_states(run_id) == latest
    assert list(j.step_states(run_id)) == list(latest)  # the order steps first appear in
    current = j.current(run_id)
    assert [t.seq for t in current] == sorted(t.seq for t in current)
    assert {t.seq for t in current} <= {t.seq for t in every}
    assert _answers(current) == _answers(every)


def _write(j: Journal, run_id: str, pick: random.Random, at: float) -> None:
    """One legal transition of a random step, with a random detail (most have none)."""
    step = f"s{pick.randrange(6)}"
    previous = j.step_status(run_id, step)
    again = previous in DONE and pick.random() < 0.5  # a setup step starting over
    status = S.RUNNING if again else pick.choice(sorted(ALLOWED[previous]))
    detail = {**pick.choice(_DETAILS), **({AGAIN: True} if again else {})}
    j.record(run_id, step, status, at=at, detail=detail)


@pytest.mark.parametrize("seed", range(4))
def test_random_runs_read_the_same_as_every_transition(url: str, seed: int) -> None:
    pick = random.Random(seed)
    ours, theirs = _open(url), _open(url)
    _run(ours, "r1")
    for number in range(60):
        writer = theirs if pick.random() < 0.3 else ours  # a write behind our back
        _write(writer, "r1", pick, float(number))
        _check(ours, "r1")
    _check(_open(url), "r1")  # a fresh journal reads the same
    ours.close()
    theirs.close()


def test_plain_rows_are_left_out_and_a_later_plain_row_ends_a_detail(url: str) -> None:
    j = _open(url)
    _run(j, "r1")
    for step in ("a", "b"):
        j.record("r1", step, S.RUNNING, at=1.0)
        j.record("r1", step, S.SUCCEEDED, at=2.0)
    assert j.current("r1") == []  # nothing a resume needs: nothing decoded
    j.record("r1", "c", S.RUNNING, at=3.0)
    j.record("r1", "c", S.STOPPED, at=4.0, detail={"abandoned": True})
    assert _abandoned(j.current("r1")) == {"c"}
    j.record("r1", "c", S.RUNNING, at=5.0)  # its latest row now has no detail
    assert [t.status for t in j.current("r1")] == [S.STOPPED, S.RUNNING]
    assert _abandoned(j.current("r1")) == set()
    assert j.step_states("r1") == {"a": S.SUCCEEDED, "b": S.SUCCEEDED, "c": S.RUNNING}
    j.close()


def test_states_see_a_row_committed_out_of_seq_order(tmp_path: Path) -> None:
    """PostgreSQL hands out ``seq`` before commit: a lower one can appear later."""
    path = tmp_path / "journal.db"
    j = _open(f"sqlite:///{path}")
    _run(j, "r1")
    j.record("r1", "a", S.RUNNING, at=1.0)
    j.record("r1", "b", S.RUNNING, at=2.0)
    j.record("r1", "c", S.RUNNING, at=3.0)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DELETE FROM transitions WHERE seq = 2")  # as if it had not committed yet
    db.execute("PRAGMA wal_checkpoint")
    assert j.step_states("r1") == {"a": S.RUNNING, "c": S.RUNNING}
    db.execute(
        "INSERT INTO transitions (seq, run_id, step_id, status, at) VALUES (2, 'r1', 'b',"
        " 'failed', 2.0)"
    )  # the late commit
    assert j.step_states("r1") == {"a": S.RUNNING, "b": S.FAILED, "c": S.RUNNING}
    db.close()
    j.close()


def test_a_malformed_status_is_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    j = _open(f"sqlite:///{path}")
    _run(j, "r1")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(
        "INSERT INTO transitions (run_id, step_id, status, at, detail) VALUES ('r1', 'a',"
        " 'exploded', 1.0, '{\"route\": 1}')"
    )
    db.close()
    for read in (j.step_states, j.current, j.transitions):
        with pytest.raises(JournalError, match="malformed step status"):
            read("r1")
    j.close()
