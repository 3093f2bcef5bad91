"""Leases in the lock decision, the journal's lease rows, the config key and the beat.

Fast: pure decisions, SQLite files in ``tmp_path``, a heartbeat driven by hand.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from opsbooks.edges.config import load_config
from opsbooks.edges.leases import Heartbeat
from opsbooks.edges.resuming import abandon
from opsbooks.errors import BadInput, ConfigError, JournalError, LockHeld
from opsbooks.records.journal import Journal, LeaseView, RunRecord, open_journal
from opsbooks.records.journal.locks import (
    LockHolder,
    Refusal,
    Requester,
    Verdict,
    decide,
)
from opsbooks.testing.fakes import FakeIdentity

HERE, THERE = "machine-b", "machine-a"


def _holder(run_id: str = "r1", pid: int = 100, host: str = THERE) -> LockHolder:
    return LockHolder(run_id, pid, host, 12.5)


def _lease(age: float, lease: float = 30.0, run_id: str = "r1", host: str = THERE) -> LeaseView:
    return LeaseView(run_id, host, age, lease)


FRESH, EXPIRED = _lease(4.0), _lease(46.0)  # the margin: expired only past 1.5 x lease

# (holder, requester, force, holder alive, lease) -> (verdict, refusal)
CASES = {
    "another host, no lease row: refused as before": (
        _holder(),
        Requester("r1", 200, HERE),
        False,
        None,
        None,
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "another host, fresh lease, same run: refused": (
        _holder(),
        Requester("r1", 200, HERE),
        False,
        None,
        FRESH,
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "another host, fresh lease, --force: refused": (
        _holder(),
        Requester("r2", 200, HERE),
        True,
        None,
        FRESH,
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "another host, expired lease, same run: a resume takes it": (
        _holder(),
        Requester("r1", 200, HERE),
        False,
        None,
        EXPIRED,
        Verdict.TAKE,
        None,
    ),
    "another host, expired lease, another run: crashed, needs --force": (
        _holder(),
        Requester("r2", 200, HERE),
        False,
        None,
        EXPIRED,
        Verdict.REFUSE,
        Refusal.CRASHED,
    ),
    "another host, expired lease, another run with --force: taken over": (
        _holder(),
        Requester("r2", 200, HERE),
        True,
        None,
        EXPIRED,
        Verdict.TAKE_OVER,
        None,
    ),
    "another host, expired lease of an older run: ignored, refused": (
        _holder(),
        Requester("r1", 200, HERE),
        False,
        None,
        _lease(99, run_id="r0"),
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "another host, expired lease written by a third host: ignored": (
        _holder(),
        Requester("r1", 200, HERE),
        False,
        None,
        _lease(99, host="machine-c"),
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "just inside the margin: still alive": (
        _holder(),
        Requester("r1", 200, HERE),
        False,
        None,
        _lease(44.9),
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "this host, live pid, expired lease: a hung runner, refused": (
        _holder(host=HERE),
        Requester("r1", 200, HERE),
        False,
        True,
        _lease(99, host=HERE),
        Verdict.REFUSE,
        Refusal.HUNG,
    ),
    "this host, live pid, expired lease, --force: still refused": (
        _holder(host=HERE),
        Requester("r2", 200, HERE),
        True,
        True,
        _lease(99, host=HERE),
        Verdict.REFUSE,
        Refusal.HUNG,
    ),
    "this host, dead pid, fresh lease: the pid wins, resume takes it": (
        _holder(host=HERE),
        Requester("r1", 200, HERE),
        False,
        False,
        _lease(1, host=HERE),
        Verdict.TAKE,
        None,
    ),
    "this host, re-entry of the same process with a stale lease: taken": (
        _holder(pid=200, host=HERE),
        Requester("r1", 200, HERE),
        False,
        True,
        _lease(99, host=HERE),
        Verdict.TAKE,
        None,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_lease_rules(case: str) -> None:
    holder, requester, force, alive, lease, verdict, refusal = CASES[case]
    decision = decide(holder, requester, force=force, holder_alive=alive, lease=lease)
    assert (decision.verdict, decision.refusal) == (verdict, refusal)


def test_a_fresh_lease_elsewhere_says_when_it_was_renewed_and_when_it_expires() -> None:
    decision = decide(
        _holder(), Requester("r1", 200, HERE), force=False, holder_alive=None, lease=FRESH
    )
    error = decision.error("team.handover")
    assert isinstance(error, LockHeld)
    text = str(error)
    assert "renewed 4.0s ago from machine-a and expires in 41.0s" in text
    assert "opsbooks resume r1" in text and "\n" not in text


def test_a_hung_runner_is_named_as_such() -> None:
    decision = decide(
        _holder(host=HERE),
        Requester("r2", 200, HERE),
        force=True,
        holder_alive=True,
        lease=_lease(99, host=HERE),
    )
    text = str(decision.error("team.handover"))
    assert "alive but last renewed its lease 99.0s ago" in text and "hung" in text
    assert "kill 100" in text


def test_lease_view_expiry_and_remaining_time() -> None:
    assert _lease(45.0).expires_in == 0.0 and not _lease(45.0).expired
    assert _lease(45.1).expired
    assert _lease(10.0, lease=2.0).expires_in == 0.0
    assert _lease(0.5, lease=2.0).expires_in == pytest.approx(2.5)


# -- the journal's lease rows (SQLite) --------------------------------------------------


def _journal(tmp_path: Path, host: str, pid: int, lease: float | None = 30.0) -> Journal:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    return open_journal(url, identity=FakeIdentity(host, pid=pid), lease=lease)


def _miss_beats(tmp_path: Path, seconds: float = 46.0) -> None:
    """The holder stopped beating ``seconds`` ago: its last beat moved back in time."""
    with sqlite3.connect(tmp_path / "journal.db") as db:
        db.execute("UPDATE lock_leases SET beat_at = beat_at - ?", (seconds,))


def test_taking_a_lock_writes_a_lease_renewed_only_by_its_holder(tmp_path: Path) -> None:
    a = _journal(tmp_path, THERE, 100)
    b = _journal(tmp_path, HERE, 200)
    assert a.renew_lease("book", "r1", pid=100, host=THERE) is False  # not held yet
    a.acquire_lock("book", "r1", at=1.0)
    lease = b.lock_lease("book")
    assert lease is not None and (lease.run_id, lease.host, lease.lease) == ("r1", THERE, 30.0)
    assert 0.0 <= lease.age < 5.0
    assert a.renew_lease("book", "r1", pid=100, host=THERE) is True
    assert b.renew_lease("book", "r1", pid=200, host=HERE) is False  # not the holder
    with pytest.raises(LockHeld, match="lease was renewed"):
        b.acquire_lock("book", "r1", at=2.0)
    a.release_lock("book", "r1")
    assert b.lock_lease("book") is None and b.lock_holder("book") is None
    assert a.renew_lease("book", "r1", pid=100, host=THERE) is False  # released: no beat


def test_a_journal_without_a_lease_writes_no_row_and_refuses_elsewhere(tmp_path: Path) -> None:
    a = _journal(tmp_path, THERE, 100, lease=None)
    a.acquire_lock("book", "r1", at=1.0)
    b = _journal(tmp_path, HERE, 200)
    assert b.lock_lease("book") is None
    with pytest.raises(LockHeld, match="cannot tell whether that process still runs"):
        b.acquire_lock("book", "r1", at=2.0)


def test_an_expired_lease_elsewhere_lets_a_resume_take_the_run(tmp_path: Path) -> None:
    a = _journal(tmp_path, THERE, 100)
    a.acquire_lock("book", "r1", at=1.0)
    _miss_beats(tmp_path)
    b = _journal(tmp_path, HERE, 200)
    with pytest.raises(LockHeld, match="crashed"):
        b.acquire_lock("book", "r2", at=2.0)  # another run: only with --force
    b.acquire_lock("book", "r1", at=2.0)  # the same run: the resume takes it
    assert b.lock_holder("book") == LockHolder("r1", 200, HERE, 2.0)
    lease = b.lock_lease("book")
    assert lease is not None and (lease.host, lease.lease) == (HERE, 30.0)


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(("value", "seconds"), [('"30s"', 30.0), ('"2m"', 120.0), ("5", 5.0)])
def test_journal_lease_is_a_duration(tmp_path: Path, value: str, seconds: float) -> None:
    (tmp_path / "opsbooks.toml").write_text(f"journal_lease = {value}\n")
    assert load_config(tmp_path).journal_lease == seconds


def test_journal_lease_defaults_to_thirty_seconds(tmp_path: Path) -> None:
    assert load_config(tmp_path).journal_lease == 30.0


@pytest.mark.parametrize("value", ['"soon"', '"0s"', "true", '"3d"'])
def test_a_malformed_journal_lease_is_a_clear_config_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "opsbooks.toml").write_text(f"journal_lease = {value}\n")
    with pytest.raises(ConfigError, match="journal_lease") as caught:
        load_config(tmp_path)
    assert "\n" not in str(caught.value) and "docs/guides/configuration.md" in str(caught.value)


# -- the heartbeat, beat by beat ---------------------------------------------------------


def test_a_failed_beat_is_said_once_and_retried(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    holder = FakeIdentity(THERE, pid=100)
    open_journal(url, identity=holder, lease=30.0).acquire_lock("book", "r1", at=1.0)
    down = [True]

    def opener(where: str) -> Journal:
        if down[0]:
            raise JournalError(f"cannot open {where}: disk I/O error")
        return open_journal(where)

    stderr = io.StringIO()
    beat = Heartbeat(url, "book", "r1", lease=30.0, identity=holder, stderr=stderr, opener=opener)
    beat.beat()
    beat.beat()
    assert stderr.getvalue().count("cannot renew the lease of run r1") == 1
    assert "disk I/O error" in stderr.getvalue() and beat.beats == 0
    down[0] = False
    beat.beat()
    assert beat.beats == 1 and "renewed again" in stderr.getvalue()


def test_the_heartbeat_thread_stops_and_joins_on_exit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}"
    beat = Heartbeat(url, "book", "r1", lease=30.0, identity=FakeIdentity(THERE, pid=100))
    with beat:
        assert beat._thread is not None and beat._thread.is_alive()
    assert not beat._thread.is_alive() and beat.beats == 0  # no beat before 10 s


def test_abandon_takes_a_run_whose_lease_expired_elsewhere_without_host_gone(
    tmp_path: Path,
) -> None:
    a = _journal(tmp_path, THERE, 100)
    a.create_run(RunRecord("r1", "book", "f", {}, {}, "ann", THERE, 100, 1.0))
    a.acquire_lock("book", "r1", at=1.0)
    _miss_beats(tmp_path)
    b = _journal(tmp_path, HERE, 200)
    record = abandon(b, "r1", reason="machine-a died", who="bob", at=3.0, identity=b_identity())
    assert record.outcome == "abandoned" and b.lock_holder("book") is None


def test_abandon_still_refuses_a_fresh_lease_elsewhere(tmp_path: Path) -> None:
    a = _journal(tmp_path, THERE, 100)
    a.create_run(RunRecord("r1", "book", "f", {}, {}, "ann", THERE, 100, 1.0))
    a.acquire_lock("book", "r1", at=1.0)
    b = _journal(tmp_path, HERE, 200)
    with pytest.raises(BadInput, match="--host-gone"):
        abandon(b, "r1", reason="unsure", who="bob", at=3.0, identity=b_identity())


def b_identity() -> FakeIdentity:
    return FakeIdentity(HERE, pid=200)
