"""A run waiting at a gate with ``approvers``: it opens a request, then polls the journal.

The waiting run trusts no approver's process: ``opsbooks approve`` verified and judged
its decision, and still the waiter verifies each signature itself, against its own
``allowed_signers``, and judges it again with :func:`opsbooks.define.approvals.judge`.
The gate passes at the quorum of distinct verified approvers, stops at one verified
deny, and gives up at its timeout or a stop request. Every decision it reads becomes an
``ApprovalDecided`` event, so the audit trail has each one with the verified identity.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from opsbooks.backends.signing import BadSignature, SignatureVerifier
from opsbooks.define.approvals import (
    CLOSED,
    REQUEST,
    VERDICT,
    ApprovalSettings,
    Counted,
    Payload,
    WaitingGate,
    decided,
    judge,
    question_hash,
)
from opsbooks.records.events import ApprovalDecided, Event
from opsbooks.records.journal import ApprovalRecord
from opsbooks.run.gates import GateAnswer, GateRequest, NoAnswer
from opsbooks.run.protocols import Clock

SOURCE = "signed approvals"


class ApprovalJournal(Protocol):
    def record_approval(self, approval: ApprovalRecord) -> None: ...

    def approvals(self, run_id: str, step_id: str | None = None) -> list[ApprovalRecord]: ...


def open_request(rows: list[ApprovalRecord]) -> tuple[WaitingGate, int] | None:
    """The gate's open wait (its request and the request's ``seq``), or None."""
    for row in reversed(rows):
        if row.decision == CLOSED:
            return None
        if row.decision == REQUEST:
            try:
                return WaitingGate.decode(row.payload), row.seq
            except (TypeError, ValueError):
                return None
    return None


def counted_after(
    rows: list[ApprovalRecord],
    waiting: WaitingGate,
    seq: int,
    verifier: SignatureVerifier,
    members: Sequence[str],
) -> list[Counted]:
    """The decisions since the request at ``seq`` that verify and count, in order: a
    row marked accepted by whoever wrote it counts only if it holds up here."""
    counted: list[Counted] = []
    for row in rows:
        if row.seq > seq and row.accepted and row.decision in ("approve", "deny"):
            principal, accepted, _ = recheck(row, waiting, counted, verifier, members)
            if accepted:
                counted.append(Counted(principal, row.decision, row.reason, _nonce(row.payload)))
    return counted


def recheck(
    row: ApprovalRecord,
    waiting: WaitingGate,
    counted: Sequence[Counted],
    verifier: SignatureVerifier,
    members: Sequence[str],
) -> tuple[str, bool, str]:
    """Verify one journaled decision's signature and judge it again: (principal, counts, why)."""
    try:
        principal = verifier.verify(row.payload, row.signature)
        payload = Payload.parse(row.payload)
    except BadSignature as exc:
        return "", False, f"signature does not verify here: {exc.reason}"
    except ValueError as exc:
        return "", False, f"not an approval payload: {exc}"
    if principal != row.principal or payload.decision != row.decision:
        return principal, False, "the row's principal or decision differs from what was signed"
    if payload.reason != row.reason:
        return principal, False, "the row's reason differs from the signed reason"
    verdict = judge(principal, payload, waiting, members, counted)
    return principal, verdict.accepted, verdict.why


def _nonce(payload: str) -> str:
    try:
        return Payload.parse(payload).nonce
    except ValueError:
        return ""


@dataclass
class ApprovalWaiter:
    """Answers gates with ``approvers`` from verified, signed decisions (see the module)."""

    journal: ApprovalJournal
    verifier: SignatureVerifier | None
    settings: ApprovalSettings
    runbook: str
    who: str
    waits: Clock
    say: Callable[[str], None]
    emit: Callable[[Event], None]
    token: Callable[[], str] = field(default=lambda: secrets.token_hex(16))

    def answer(self, request: GateRequest, run_id: str) -> GateAnswer:
        role = request.approvers or ""
        self._check_configured(request, role)
        waiting = WaitingGate(
            run_id=run_id,
            runbook=self.runbook,
            gate=request.step_id,
            question=question_hash(request.prompt),
            role=role,
            quorum=request.quorum,
            four_eyes=request.four_eyes,
            starter=self.who,
            token=self.token(),
        )
        asked = self.waits.wall()
        self._row(waiting, REQUEST, self.who, waiting.encode(), "waiting")
        self._announce(waiting)
        outcome = "stopped"
        try:
            answer = self._wait(request, waiting, asked)
            outcome = "approved"
            return answer
        except NoAnswer as exc:
            outcome = exc.reason
            raise
        finally:
            self._row(waiting, CLOSED, self.who, "", outcome)

    def _check_configured(self, request: GateRequest, role: str) -> None:
        if self.verifier is None or not self.settings.allowed_signers:
            raise NoAnswer(
                f"gate {request.step_id!r} needs signed approvals, and "
                f"[tool.opsbooks.approvals] sets no allowed_signers file to verify them with; "
                f"set it (docs/guides/governance.md, 'Signed approvals') and resume the run"
            )
        if not self.settings.members(role):
            raise NoAnswer(
                f"gate {request.step_id!r} needs approvals from role {role!r}, which "
                f"[tool.opsbooks.approvals] roles does not list (or lists with no members); "
                f"add it and resume the run"
            )

    def _announce(self, waiting: WaitingGate) -> None:
        count = f"{waiting.quorum} signed approval{'s' if waiting.quorum != 1 else ''}"
        starter = f", not from {waiting.starter} (four-eyes)" if waiting.four_eyes else ""
        members = ", ".join(self.settings.members(waiting.role))
        self.say(
            f"  waiting for {count} from role {waiting.role} ({members}){starter}; on any "
            f"machine that shares this journal, run:\n"
            f"    opsbooks approve {waiting.run_id} {waiting.gate} [--key ~/.ssh/id_ed25519]\n"
            f"    opsbooks deny {waiting.run_id} {waiting.gate} --reason TEXT"
        )

    def _wait(self, request: GateRequest, waiting: WaitingGate, asked: float) -> GateAnswer:
        deadline = None if request.timeout is None else self.waits.monotonic() + request.timeout
        seen, counted = self._request_seq(waiting), list[Counted]()
        while True:
            for row in self.journal.approvals(waiting.run_id, waiting.gate):
                if row.seq > seen and row.decision in ("approve", "deny"):
                    seen = row.seq
                    self._consider(row, waiting, counted)
            state = decided(waiting, counted)
            if state == "denied":
                deny = next(c for c in counted if c.decision == "deny")
                raise NoAnswer(f"denied by {deny.principal}: {deny.reason}")
            if state == "approved":
                approvers = "+".join(c.principal for c in counted)
                return GateAnswer(True, approvers, SOURCE, asked, self.waits.wall())
            stop = request.cancelled() if request.cancelled is not None else None
            if stop:
                raise NoAnswer(f"{stop} received while gate {waiting.gate!r} waited for approvals")
            if deadline is not None and self.waits.monotonic() >= deadline:
                raise NoAnswer(
                    f"no quorum of signed approvals within {request.timeout:g}s at gate "
                    f"{waiting.gate!r}",
                    timed_out=True,
                )
            self.waits.sleep(self.settings.poll_seconds)

    def _request_seq(self, waiting: WaitingGate) -> int:
        found = open_request(self.journal.approvals(waiting.run_id, waiting.gate))
        if found is None or found[0].token != waiting.token:
            raise NoAnswer(f"the approval request of gate {waiting.gate!r} was not journaled")
        return found[1]

    def _consider(self, row: ApprovalRecord, waiting: WaitingGate, counted: list[Counted]) -> None:
        """Verify and judge one decision again; count it only if both hold here too."""
        principal, accepted, why = "", False, row.why
        if row.accepted:
            assert self.verifier is not None  # checked before the wait began
            members = self.settings.members(waiting.role)
            principal, accepted, why = recheck(row, waiting, counted, self.verifier, members)
            if accepted:
                self.say(f"  {row.decision} by {principal} verified ({row.reason or 'no reason'})")
        else:
            why = f"refused by the approving side: {row.why}"
        self.emit(
            ApprovalDecided(waiting.gate, row.decision, principal or "", accepted, why, row.reason)
        )
        # the run's own verdict on the row (by its seq), which the report shows beside it
        self._row(waiting, VERDICT, principal, str(row.seq), why, accepted=accepted)
        if accepted:
            counted.append(Counted(principal, row.decision, row.reason, _nonce(row.payload)))
        else:
            self.say(f"  not counted: {row.decision} claimed by {row.principal}: {why}")

    def _row(
        self,
        waiting: WaitingGate,
        decision: str,
        who: str,
        payload: str,
        why: str,
        *,
        accepted: bool = True,
    ) -> None:
        at = self.waits.wall()
        self.journal.record_approval(
            ApprovalRecord(
                waiting.run_id, waiting.gate, decision, who, "", payload, "", accepted, why, at
            )
        )
