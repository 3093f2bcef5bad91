"""The questions a run asks a person, and the one place they are asked and journaled.

A gate's or a manual step's question is built from its planned step (its ``GateSpec``);
resume and ``--step`` mode ask their own. ``Questions`` asks through the prompter chain
(answers file, ``--yes``, terminal, nobody) and journals every answer with who gave it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from pydantic import SecretStr

from opsbooks.define.params import REDACTED, param_values, redacted
from opsbooks.define.specs import GateSpec
from opsbooks.errors import GateStopped
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.plan.optional import declined_skips
from opsbooks.records.events import Event, GateAnswered
from opsbooks.records.journal import GateRecord
from opsbooks.records.redaction import Redactor
from opsbooks.run.gates import ChainPrompter, GateAnswer, GateRequest, NoAnswer
from opsbooks.run.outcome import StepResult
from opsbooks.run.protocols import Clock
from opsbooks.run.state import RunState

RESUME_CHOICES = ("re-run", "mark-done", "abort")


def request_for(
    planned: PlannedStep, context: tuple[str, ...] = (), values: Mapping[str, Any] | None = None
) -> GateRequest | None:
    """The question a gate or manual step asks; None for steps that ask nothing.

    ``values`` is accepted for callers that bind late; the phrase is bound at plan time.
    """
    del values
    if planned.kind == "manual":
        return GateRequest(
            step_id=planned.id,
            kind="manual",
            prompt=planned.text or "",
            title=planned.title,
            context=context,
        )
    spec = planned.spec
    if not isinstance(spec, GateSpec):
        return None
    return GateRequest(
        step_id=planned.id,
        kind=spec.mode,
        prompt=planned.text or "",
        title=planned.title,
        choices=spec.choices,
        answer_type=spec.answer_type,
        pattern=spec.pattern,
        phrase=spec.phrase,
        default=spec.default,
        timeout=spec.timeout,
        context=context,
        secret=spec.secret,
        yes_default=spec.yes_default,
        approvers=spec.approvers,
        quorum=spec.quorum,
        four_eyes=spec.four_eyes,
    )


def resume_request(step_id: str, title: str) -> GateRequest:
    """Asked on resume when a non-idempotent step was in flight at a crash."""
    return GateRequest(
        step_id=f"resume:{step_id}",
        kind="resume",
        title=f"Resume: {title}",
        prompt=(
            f"Step {step_id!r} was running when the previous attempt stopped, and it is not "
            f"idempotent. Check whether it completed. Re-run it, mark it done, or abort?"
        ),
        choices=RESUME_CHOICES,
    )


def undo_resume_request(step_id: str, undo_title: str) -> GateRequest:
    """Asked on resume when a crash cut off a non-idempotent undo."""
    return GateRequest(
        step_id=f"resume:undo:{step_id}",
        kind="resume",
        title=f"Resume the rollback: {undo_title}",
        prompt=(
            f"The undo of step {step_id!r} ({undo_title}) was running when the previous "
            f"attempt stopped, and it is not idempotent. Check whether it completed. Re-run "
            f"the undo, mark it done, or abort?"
        ),
        choices=RESUME_CHOICES,
    )


class ApprovalWaiting(Protocol):
    """Answers a gate with ``approvers`` from verified signed decisions, or raises NoAnswer."""

    def answer(self, request: GateRequest, run_id: str) -> GateAnswer: ...


class GateJournal(Protocol):
    """What ``Questions`` needs of the journal: a place to record each answer."""

    def record_gate(self, gate: GateRecord) -> None: ...

    def barrier(self) -> None: ...


@dataclass(frozen=True, eq=False)  # never compared: no __eq__/__hash__ made at import
class Questions:
    """Asks through the prompters and journals each answer; built once per run."""

    plan: Plan
    prompter: ChainPrompter
    journal: GateJournal
    redactor: Redactor
    who: str
    clock: Clock
    emit: Callable[[Event], None]
    stop_requested: Callable[[], str | None] = lambda: None
    #: waits for signed approvals at gates with ``approvers`` (``run.approvals``)
    approvals: ApprovalWaiting | None = None

    def ask_step(self, planned: PlannedStep, run: RunState) -> StepResult:
        """Answer a gate or manual step; declines and silence stop the run (resumable)."""
        request = request_for(planned, self._context_lines(run), param_values(self.plan.params))
        assert request is not None
        if _optional(planned):  # the question says what a "no" skips
            request = replace(request, skips=tuple(declined_skips(planned.id, self.plan)))
        answer = self.ask(request, run)
        value = SecretStr(str(answer.value)) if request.secret else answer.value
        run.answers[planned.id] = value  # a secret answer stays a SecretStr to later steps
        if answer.approved:
            return StepResult(ok=True, answer=value, output=f"answer: {value!r}")
        if _optional(planned):  # a "no" is an answer: the run goes on without the part
            return StepResult(ok=True, answer=False, output="answer: False (declined; optional)")
        raise GateStopped(
            planned.id, f"declined by {answer.approver}", rollback=_rollback_on_decline(planned)
        )

    def reask_secrets(self, run: RunState) -> None:
        """On resume, ask again each answered secret gate: its answer was never stored."""
        for step_id in run.completed:
            planned = self.plan.find(step_id)
            spec = planned.spec if planned is not None else None
            answered = run.answers.get(step_id)
            if planned is None or not isinstance(spec, GateSpec) or not spec.secret:
                continue
            if not isinstance(answered, SecretStr):
                self.ask_step(planned, run)

    def ask(self, request: GateRequest, run: RunState) -> GateAnswer:
        """Ask any question (gate, resume, --step, batch), journaled like a gate."""
        request = replace(request, cancelled=self.stop_requested)
        self.journal.barrier()  # a person may take hours: what is journaled is sealed first
        try:
            signed = request.approvers is not None
            answer = self._signed(request, run) if signed else self.prompter.answer(request)
        except NoAnswer as exc:
            answer = self._after_silence(request, exc)
        if request.secret:  # redacted wherever it shows up from now on; never stored
            self.redactor.add(str(answer.value))
        stored = REDACTED if request.secret else self.redactor(answer.value)
        self.journal.record_gate(
            GateRecord(
                run.run_id,
                request.step_id,
                request.kind,
                self.redactor.text(request.prompt),
                stored,
                answer.approver,
                answer.source,
                answer.asked_at,
                answer.answered_at,
            )
        )
        self.emit(
            GateAnswered(
                request.step_id,
                request.kind,
                stored if request.secret else answer.value,
                answer.approver,
                answer.source,
                answer.answered_at - answer.asked_at,
                question=self.redactor.text(request.prompt),
            )
        )
        return answer

    def _signed(self, request: GateRequest, run: RunState) -> GateAnswer:
        """Signed approvals answer it, never a prompter: identity is not self-declared."""
        if self.approvals is None:
            raise NoAnswer(
                f"gate {request.step_id!r} needs signed approvals from role "
                f"{request.approvers}, and this run has no approvals configured; set "
                f"[tool.opsbooks.approvals] (docs/guides/governance.md) and resume"
            )
        return self.approvals.answer(request, run.run_id)

    def _after_silence(self, request: GateRequest, exc: NoAnswer) -> GateAnswer:
        """Nobody answered: take the default if the gate says so, else stop the run."""
        planned = self.plan.find(request.step_id)
        spec = planned.spec if planned is not None else None
        on_timeout = spec.on_timeout if isinstance(spec, GateSpec) else "abort"
        if request.approvers is not None:  # a default is never an approval
            on_timeout = "abort"
        if exc.timed_out and on_timeout == "default" and request.default is not None:
            now = self.clock.wall()
            return GateAnswer(request.default, self.who, "default after timeout", now, now)
        rollback = planned is not None and _rollback_on_decline(planned)
        raise GateStopped(request.step_id, exc.reason, rollback=exc.timed_out and rollback)

    def _context_lines(self, run: RunState) -> tuple[str, ...]:
        params = redacted(self.plan.params)
        lines = [f"runbook {self.plan.name}, run {run.run_id}"]
        if params:
            lines.append("params: " + ", ".join(f"{k}={v}" for k, v in params.items()))
        if run.completed:
            lines.append("done so far: " + ", ".join(run.completed))
        return tuple(lines)


def _optional(planned: PlannedStep) -> bool:
    spec = planned.spec
    return isinstance(spec, GateSpec) and spec.on_decline == "skip"


def _rollback_on_decline(planned: PlannedStep) -> bool:
    spec = planned.spec
    return isinstance(spec, GateSpec) and spec.rollback_on_decline
