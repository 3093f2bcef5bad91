"""The approver's side: sign a decision on a waiting gate, verify it, judge it, journal it.

``opsbooks approve`` and ``opsbooks deny`` call :func:`submit` on any machine that
shares the run's journal. A refused decision (nothing waiting, a signature that does not
verify, a principal outside the role, the starter under four-eyes, a second decision by
the same principal) is journaled too, with the reason, for the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from opsbooks.backends.signing import ApprovalSigner, BadSignature, SignatureVerifier
from opsbooks.define.approvals import ApprovalSettings, Payload, Verdict, WaitingGate, judge
from opsbooks.plan.state import RunOutcome
from opsbooks.records.journal import ApprovalRecord, RunRecord
from opsbooks.run.approvals import counted_after, open_request

#: what a refused row names as its principal when no signature verified
UNVERIFIED = "(unverified)"


class ApprovingJournal(Protocol):
    def get_run(self, run_id: str) -> RunRecord: ...

    def record_approval(self, approval: ApprovalRecord) -> None: ...

    def approvals(self, run_id: str, step_id: str | None = None) -> list[ApprovalRecord]: ...


@dataclass(frozen=True)
class Submitted:
    """What happened to a decision: the verdict, the verified principal, the run."""

    verdict: Verdict
    principal: str
    run_id: str


def submit(
    journal: ApprovingJournal,
    run_id: str,
    gate: str,
    decision: str,
    reason: str,
    *,
    signer: ApprovalSigner,
    verifier: SignatureVerifier,
    settings: ApprovalSettings,
    at: float,
    nonce: str,
) -> Submitted:
    """Sign, verify, judge and journal one decision; raise only for bad input
    (an unknown run: ``JournalError``; a key that cannot sign: ``SigningFailed``)."""
    run = journal.get_run(run_id)
    rows = journal.approvals(run.id, gate)
    found = open_request(rows)
    waiting, seq = found if found is not None else (None, 0)
    if waiting is not None and run.outcome != RunOutcome.RUNNING.value:
        waiting = None  # the run stopped or crashed at the gate: nobody reads this now
    payload = Payload(
        run_id=run.id,
        runbook=run.runbook,
        gate=gate,
        question=waiting.question if waiting else "",
        request=waiting.token if waiting else "",
        decision=decision,
        reason=reason,
        at=at,
        nonce=nonce,
    )
    text = payload.text()
    signature = signer.sign(text)
    try:
        principal = verifier.verify(text, signature)
    except BadSignature as exc:
        principal, verdict = "", Verdict(False, f"signature refused: {exc.reason}")
    else:
        if waiting is None:
            verdict = Verdict(False, not_waiting(run, gate))
        else:
            members = settings.members(waiting.role)
            counted = counted_after(rows, waiting, seq, verifier, members)
            verdict = judge(principal, payload, waiting, members, counted)
    journal.record_approval(
        ApprovalRecord(
            run.id,
            gate,
            decision,
            principal or UNVERIFIED,
            reason,
            text,
            signature,
            verdict.accepted,
            verdict.why,
            at,
        )
    )
    return Submitted(verdict, principal, run.id)


def not_waiting(run: RunRecord, gate: str) -> str:
    """Why nothing waits for a decision on ``gate``: say what the run is doing instead."""
    if run.outcome != RunOutcome.RUNNING.value:
        return f"run {run.id} is {run.outcome}, not waiting at gate {gate!r}"
    return (
        f"run {run.id} is not waiting for approvals at gate {gate!r} (not there yet, "
        f"already decided, or no such gate with approvers)"
    )


def waiting_gate(journal: ApprovingJournal, run_id: str, gate: str) -> WaitingGate | None:
    """The open wait of ``gate``, for a command that only reads (None: nothing waits)."""
    found = open_request(journal.approvals(run_id, gate))
    return found[0] if found is not None else None
