"""Fast: a run waiting at an approval gate (``ApprovalWaiter``) and the approver's side
(``submit``), with the fake signer and verifier of ``opsbooks.testing.signing``, a fake
clock and an in-memory journal; and a drill showing that neither ``--answers`` nor
``--yes`` answers such a gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define.approvals import ApprovalSettings, WaitingGate, question_hash
from opsbooks.records.events import ApprovalDecided, Event
from opsbooks.records.journal import ApprovalRecord, RunRecord
from opsbooks.run.approvals import ApprovalWaiter
from opsbooks.run.approving import UNVERIFIED, submit
from opsbooks.run.gates import GateRequest, NoAnswer
from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.signing import FakeSigner, FakeVerifier

PEOPLE = ("alice@example.com", "bob@example.com", "carol@example.com")
SETTINGS = ApprovalSettings(
    allowed_signers="allowed_signers", roles={"release-managers": list(PEOPLE)}, poll="1s"
)


@dataclass
class MemoryJournal:
    """The three journal methods approvals use, in memory."""

    run: RunRecord
    rows: list[ApprovalRecord] = field(default_factory=list)

    def get_run(self, run_id: str) -> RunRecord:
        assert run_id == self.run.id
        return self.run

    def record_approval(self, approval: ApprovalRecord) -> None:
        self.rows.append(replace(approval, seq=len(self.rows) + 1))

    def approvals(self, run_id: str, step_id: str | None = None) -> list[ApprovalRecord]:
        return [r for r in self.rows if r.run_id == run_id and step_id in (None, r.step_id)]


class ActingClock(FakeClock):
    """A fake clock that does the next scripted thing each time the waiter sleeps."""

    def __init__(self, actions: list[Callable[[], None]]) -> None:
        super().__init__(1000.0)
        self.actions = list(actions)

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.actions:
            self.actions.pop(0)()


@pytest.fixture
def journal() -> MemoryJournal:
    return MemoryJournal(RunRecord("r1", "release.ship", "fp", {}, {}, "carol", "h", 1, 0.0))


def request(**over: Any) -> GateRequest:
    base: dict[str, Any] = {
        "step_id": "go",
        "kind": "confirm",
        "prompt": "Ship it?",
        "approvers": "release-managers",
        "quorum": 2,
    }
    return GateRequest(**(base | over))


def decide(journal: MemoryJournal, who: str, decision: str = "approve", reason: str = "") -> Any:
    return submit(
        journal,
        "r1",
        "go",
        decision,
        reason,
        signer=FakeSigner(who),
        verifier=FakeVerifier(PEOPLE),
        settings=SETTINGS,
        at=1001.0,
        nonce=f"{who}-{decision}-{len(journal.rows)}",
    )


def waiter(journal: MemoryJournal, clock: FakeClock, events: list[Event], said: list[str]) -> Any:
    return ApprovalWaiter(
        journal,
        FakeVerifier(PEOPLE),
        SETTINGS,
        "release.ship",
        "carol",
        clock,
        said.append,
        events.append,
    )


def test_the_gate_passes_at_a_quorum_of_two_distinct_verified_approvers(
    journal: MemoryJournal,
) -> None:
    events: list[Event] = []
    said: list[str] = []
    clock = ActingClock(
        [
            lambda: decide(journal, "alice@example.com"),
            lambda: decide(journal, "alice@example.com"),  # a second time: not counted
            lambda: decide(journal, "bob@example.com"),
        ]
    )
    the_waiter = waiter(journal, clock, events, said)
    answer = the_waiter.answer(request(), "r1")
    assert (answer.value, answer.approver, answer.source) == (
        True,
        "alice@example.com+bob@example.com",
        "signed approvals",
    )
    assert clock.sleeps == [1.0, 1.0, 1.0]  # polled every `poll`, on the injected clock
    assert "opsbooks approve r1 go" in said[0] and "not from carol (four-eyes)" in said[0]
    decisions = [(e.principal, e.accepted) for e in events if isinstance(e, ApprovalDecided)]
    assert decisions == [
        ("alice@example.com", True),
        ("", False),  # the approving side refused alice's second one; not counted here either
        ("bob@example.com", True),
    ]
    assert [r.decision for r in journal.rows] == [
        "request",
        *["approve", "verdict"] * 3,
        "closed",
    ]
    assert journal.rows[3].why == "alice@example.com already decided; a decision counts once"
    verdicts = [
        (r.payload, r.principal, r.accepted) for r in journal.rows if r.decision == "verdict"
    ]
    assert verdicts == [
        ("2", "alice@example.com", True),
        ("4", "", False),
        ("6", "bob@example.com", True),
    ]
    assert journal.rows[-1].why == "approved"


def test_a_row_marked_accepted_whose_signature_does_not_verify_is_not_counted(
    journal: MemoryJournal,
) -> None:
    """The waiting run trusts no approver's process: it verifies every signature itself."""

    def forge() -> None:
        decide(journal, "alice@example.com")
        good = journal.rows[-1]
        altered = good.payload.replace('"reason":""', '"reason":"forged"')
        journal.record_approval(replace(good, payload=altered, reason="forged"))
        journal.record_approval(
            replace(good, principal="bob@example.com", signature="fake-signature bob x")
        )

    events: list[Event] = []
    clock = ActingClock([forge, lambda: None])
    with pytest.raises(NoAnswer, match="no quorum of signed approvals within 2s") as stopped:
        waiter(journal, clock, events, []).answer(request(timeout=2.0), "r1")
    assert stopped.value.timed_out
    judged = [e for e in events if isinstance(e, ApprovalDecided)]
    assert [(e.principal, e.accepted) for e in judged] == [
        ("alice@example.com", True),
        ("", False),
        ("", False),
    ]
    assert "the payload was altered" in judged[1].why
    assert "does not verify here" in judged[2].why
    assert journal.rows[-1].decision == "closed" and "no quorum" in journal.rows[-1].why


def test_one_verified_deny_stops_the_wait_with_its_reason(journal: MemoryJournal) -> None:
    clock = ActingClock(
        [lambda: decide(journal, "bob@example.com", "deny", "not during the freeze")]
    )
    with pytest.raises(NoAnswer) as stopped:
        waiter(journal, clock, [], []).answer(request(), "r1")
    assert stopped.value.reason == "denied by bob@example.com: not during the freeze"
    assert not stopped.value.timed_out


def test_a_stop_request_ends_the_wait(journal: MemoryJournal) -> None:
    signals = iter([None, "SIGTERM"])
    with pytest.raises(NoAnswer, match="SIGTERM received while gate 'go' waited"):
        waiter(journal, FakeClock(), [], []).answer(request(cancelled=lambda: next(signals)), "r1")
    assert journal.rows[-1].decision == "closed"


def test_no_allowed_signers_or_an_unknown_role_stops_with_the_fix(journal: MemoryJournal) -> None:
    unset = ApprovalWaiter(
        journal, None, ApprovalSettings(), "release.ship", "carol", FakeClock(), print, print
    )
    with pytest.raises(NoAnswer, match="sets no allowed_signers"):
        unset.answer(request(), "r1")
    with pytest.raises(NoAnswer, match="role 'ops', which"):
        waiter(journal, FakeClock(), [], []).answer(request(approvers="ops"), "r1")
    assert journal.rows == []


def open_request(journal: MemoryJournal) -> None:
    """Write the request row a run writes when it starts waiting at gate ``go``."""
    wait = WaitingGate(
        "r1", "release.ship", "go", question_hash("Ship it?"), "release-managers", 2, True,
        "carol", "t0",
    )  # fmt: skip
    row = ApprovalRecord("r1", "go", "request", "carol", "", wait.encode(), "", True, "", 1.0)
    journal.record_approval(row)


def test_submit_refuses_and_journals_each_bad_attempt(journal: MemoryJournal) -> None:
    nothing = decide(journal, "alice@example.com")
    assert not nothing.verdict.accepted
    assert nothing.verdict.why.startswith("run r1 is not waiting for approvals at gate 'go'")
    open_request(journal)  # now the gate waits, as a waiting run's request says
    starter = decide(journal, "carol@example.com")
    outsider = submit(
        journal,
        "r1",
        "go",
        "approve",
        "",
        signer=FakeSigner("mallory@example.com"),
        verifier=FakeVerifier(PEOPLE),
        settings=SETTINGS,
        at=1.0,
        nonce="m",
    )
    assert "four-eyes" in starter.verdict.why and not starter.verdict.accepted
    assert not outsider.verdict.accepted
    assert outsider.verdict.why == "signature refused: the signing key is not in allowed_signers"
    refused = [r for r in journal.rows if r.decision == "approve"]
    assert [(r.principal, r.accepted) for r in refused] == [
        ("alice@example.com", False),
        ("carol@example.com", False),
        (UNVERIFIED, False),
    ]
    journal.run = replace(journal.run, outcome="stopped")
    late = decide(journal, "bob@example.com")
    assert late.verdict.why == "run r1 is stopped, not waiting at gate 'go'"


class Ship(ob.Runbook):
    """Ship a build once two release managers signed off."""

    name = "tests.ship_signed"
    scope, owner, last_reviewed = "tests", "sre", "2026-12-02"
    go = ob.Gate.confirm("Ship it?", approvers="release-managers", quorum=2, gate_timeout="3s")
    ship = ob.Command("echo shipped")


def test_neither_answers_nor_yes_answer_an_approval_gate(tmp_path: Any) -> None:
    clock = FakeClock(1000.0)
    drill = Drill(
        root=tmp_path,
        runbooks=(Ship,),
        clock=clock,
        settings={"approvals": {"allowed_signers": "signers", "roles": SETTINGS.roles}},
    )
    result = drill.run(Ship, answers={"go": True}, yes=True)
    assert result.outcome == "stopped"
    assert "no quorum of signed approvals within 3s at gate 'go'" in (result.report.reason or "")
    result.assert_not_ran("ship")
    assert "opsbooks approve" in result.output and clock.sleeps  # waited on the fake clock
    rows = drill.journal().approvals(result.run_id, "go")
    assert [r.decision for r in rows] == ["request", "closed"]
