"""The lock decision, branch by branch: a pure function, no journal, no processes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbooks.errors import LockHeld
from opsbooks.records.journal.locks import (
    LockDecision,
    LockHolder,
    Refusal,
    Requester,
    Verdict,
    decide,
    holder_liveness,
)
from opsbooks.testing.fakes import FakeIdentity

HERE, THERE = "ops1", "ops2"
ME = Requester("r2", 200, HERE)


def _holder(run_id: str = "r1", pid: int = 100, host: str = HERE) -> LockHolder:
    return LockHolder(run_id, pid, host, 12.5)


# (holder, requester, force, holder alive) -> (verdict, refusal)
CASES = {
    "free": (None, ME, False, None, Verdict.TAKE, None),
    "free, --force": (None, ME, True, None, Verdict.TAKE, None),
    "another run, alive here": (_holder(), ME, False, True, Verdict.REFUSE, Refusal.HELD),
    "another run, alive here, --force": (
        _holder(),
        ME,
        True,
        True,
        Verdict.REFUSE,
        Refusal.FORCED_ALIVE,
    ),
    "another run, crashed here": (_holder(), ME, False, False, Verdict.REFUSE, Refusal.CRASHED),
    "another run, crashed here, --force": (_holder(), ME, True, False, Verdict.TAKE_OVER, None),
    "another run, liveness unknown here": (
        _holder(),
        ME,
        True,
        None,
        Verdict.REFUSE,
        Refusal.FORCED_ALIVE,
    ),
    "another host": (_holder(host=THERE), ME, False, None, Verdict.REFUSE, Refusal.OTHER_HOST),
    "another host, --force": (
        _holder(host=THERE),
        ME,
        True,
        None,
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "same run from another host, --force": (
        _holder("r2", host=THERE),
        ME,
        True,
        None,
        Verdict.REFUSE,
        Refusal.OTHER_HOST,
    ),
    "same run, this process": (_holder("r2", pid=200), ME, False, True, Verdict.TAKE, None),
    "same run, crashed here (resume)": (_holder("r2"), ME, False, False, Verdict.TAKE, None),
    "same run, alive here": (_holder("r2"), ME, False, True, Verdict.REFUSE, Refusal.HELD),
    "same run, alive here, --force": (
        _holder("r2"),
        ME,
        True,
        True,
        Verdict.REFUSE,
        Refusal.FORCED_ALIVE,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_branch(case: str) -> None:
    holder, requester, force, alive, verdict, refusal = CASES[case]
    decision = decide(holder, requester, force=force, holder_alive=alive)
    assert decision == LockDecision(verdict, holder, refusal)
    assert decision.taken is (verdict is not Verdict.REFUSE)


def _message(holder: LockHolder, *, force: bool, alive: bool | None) -> LockHeld:
    decision = decide(holder, ME, force=force, holder_alive=alive)
    assert not decision.taken
    error = decision.error("demo.book")
    assert (error.runbook, error.run_id, error.pid) == ("demo.book", holder.run_id, holder.pid)
    return error


def test_crashed_holder_says_it_is_gone_and_how_to_resume() -> None:
    error = _message(_holder(), force=False, alive=False)
    assert error.alive is False
    assert str(error) == (
        "run r1 of demo.book holds the lock, but its process (pid 100 on ops1) is gone: it "
        "crashed. Resume it with `opsbooks resume r1`, or pass --force to start a new run "
        "(the crashed one is then marked interrupted)."
    )


def test_live_holder_is_waited_for() -> None:
    error = _message(_holder(), force=False, alive=True)
    assert str(error) == (
        "runbook demo.book is already running as run r1 (pid 100 on ops1). Wait for it, or "
        "if that process is gone after a crash, pass --force to take the lock."
    )


def test_force_against_a_live_holder_says_force_cannot() -> None:
    error = _message(_holder(), force=True, alive=True)
    assert "still alive" in str(error)
    assert "--force only takes the lock from a run whose process is gone" in str(error)


def test_another_host_is_never_taken_and_says_where_to_resume() -> None:
    error = _message(_holder(host=THERE), force=True, alive=None)
    message = str(error)
    assert error.alive is None and error.host == THERE
    assert "another host" in message and "with or without --force" in message
    assert "resume it on ops2 with `opsbooks resume r1`" in message


def test_a_taken_lock_has_no_error() -> None:
    with pytest.raises(ValueError, match="not refused"):
        decide(None, ME, force=False, holder_alive=None).error("demo.book")


def test_liveness_is_asked_only_on_this_host() -> None:
    identity = FakeIdentity(HERE, pid=200, alive={100})
    assert holder_liveness(None, identity) is None
    assert holder_liveness(_holder(host=THERE), identity) is None  # pid 100 runs here, not there
    assert holder_liveness(_holder(), identity) is True
    identity.kill(100)
    assert holder_liveness(_holder(), identity) is False


_names = st.sampled_from(["r1", "r2"])
_hosts = st.sampled_from([HERE, THERE])
_pids = st.sampled_from([100, 200])


@given(
    holder=st.none() | st.builds(LockHolder, _names, _pids, _hosts, st.just(1.0)),
    requester=st.builds(Requester, _names, _pids, st.just(HERE)),
    force=st.booleans(),
    alive=st.none() | st.booleans(),
)
def test_never_takes_a_live_or_unknowable_process(
    holder: LockHolder | None, requester: Requester, force: bool, alive: bool | None
) -> None:
    decision = decide(holder, requester, force=force, holder_alive=alive)
    same_process = holder is not None and (holder.host, holder.pid, holder.run_id) == (
        requester.host,
        requester.pid,
        requester.run_id,
    )
    if decision.taken and holder is not None and not same_process:
        assert holder.host == requester.host and alive is False
    if decision.verdict is Verdict.TAKE_OVER:
        assert force and holder is not None and holder.run_id != requester.run_id
    if not force and holder is not None and holder.run_id != requester.run_id:
        assert not decision.taken
