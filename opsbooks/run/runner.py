"""The runner: drive a plan step by step, journal every transition, roll back on failure.

Layers: ``start``/``resume`` (run) -> ``_walk`` (steps in order, branches, resume
decisions) -> ``_step`` (one step: journal, events, execute) -> ``stepexec`` (the
step's kind and policy) -> the backend (the command). A transition is written to
the journal before the runner moves on, so a crash at any moment leaves a record
that resume can trust.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from opsbooks.define import outputs
from opsbooks.define.params import param_values, redacted
from opsbooks.define.template import TemplateError
from opsbooks.errors import GateStopped, Interrupted, OpsbooksError, StepFailed
from opsbooks.plan.binding import Plan, PlannedStep, with_outputs
from opsbooks.plan.state import DONE, RunOutcome, StepStatus
from opsbooks.records.events import (
    Compensated,
    Event,
    GateAnswered,
    Notice,
    Observer,
    RunFinished,
    RunStarted,
    StepFinished,
    StepStarted,
)
from opsbooks.records.journal.sqlite import GateRecord, Journal, RunRecord
from opsbooks.records.metrics import last_success_times, metric_lines, recovery_figures
from opsbooks.records.redaction import Redactor
from opsbooks.run.execute import StepEnv, condition_holds, execute
from opsbooks.run.gates import ChainPrompter, GateAnswer, GateRequest, NoAnswer
from opsbooks.run.outcome import RunReport, StepResult
from opsbooks.run.questions import request_for, resume_request

S = StepStatus
StopCheck = Callable[[], "str | None"]


@dataclass(frozen=True)
class RunOptions:
    """How to run, as chosen on the command line; recorded in the journal."""

    no_rollback: bool = False
    step_mode: bool = False
    force: bool = False
    mark_done: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "no_rollback": self.no_rollback,
            "step_mode": self.step_mode,
            "force": self.force,
            "mark_done": [list(pair) for pair in self.mark_done],
        }


@dataclass
class Runner:
    """Runs plans; every effect (commands, questions, records, time) is injected."""

    env: StepEnv
    prompter: ChainPrompter
    journal: Journal
    redactor: Redactor
    who: str
    observers: Sequence[Observer] = ()
    wall_clock: Callable[[], float] = time.time
    stop_requested: StopCheck = lambda: None
    abandon_requested: Callable[[], bool] = lambda: False
    heartbeat_every: float = 30.0
    resume_hint: Callable[[str], str] = lambda run_id: f"opsbooks resume {run_id}"
    _completed: list[str] = field(default_factory=list)

    # -- run level --------------------------------------------------------------------

    def start(self, options: RunOptions, *, run_id: str | None = None) -> RunReport:
        plan = self.env.plan
        run_id = run_id or new_run_id()
        self.env.run_id = run_id
        now = self.wall_clock()
        previous = self.journal.lock_holder(plan.name)
        self.journal.acquire_lock(plan.name, run_id, at=now, force=options.force)
        if previous is not None and previous[0] != run_id:
            self._close_crashed(previous[0], run_id, now)
        self.journal.create_run(
            RunRecord(
                id=run_id,
                runbook=plan.name,
                fingerprint=plan.fingerprint,
                params=redacted(plan.params),
                options={**options.to_dict(), "start_at": plan.start_at, "skip": list(plan.skip)},
                who=self.who,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=now,
            )
        )
        self.emit(
            RunStarted(
                plan.name,
                run_id,
                self.who,
                redacted(plan.params),
                plan.fingerprint,
                False,
                len(plan.steps),
            )
        )
        return self._guarded(options, now)

    def _close_crashed(self, crashed: str, run_id: str, now: float) -> None:
        """A lock taken with --force: the holder's process is gone; say so in its record."""
        try:
            record = self.journal.get_run(crashed)
        except OpsbooksError:
            return
        if record.outcome == RunOutcome.RUNNING.value:
            self.journal.finish_run(
                crashed,
                RunOutcome.INTERRUPTED,
                ended_at=now,
                reason=f"its process was gone; run {run_id} took the lock with --force "
                f"(resume it with `{self.resume_hint(crashed)}`)",
            )
        self.emit(Notice(f"took the lock of run {crashed} with --force"))

    def resume(self, run_id: str, options: RunOptions) -> RunReport:
        plan = self.env.plan
        record = self.journal.get_run(run_id)
        run_id = record.id
        self.env.run_id = run_id
        now = self.wall_clock()
        self.journal.acquire_lock(plan.name, run_id, at=now, force=options.force)
        self.journal.reopen_run(run_id, pid=os.getpid(), host=socket.gethostname())
        self.env.answers.update(self.journal.answers(run_id))
        self.env.extras.setdefault("metrics", {}).update(record.metrics)
        for step_id, reason in options.mark_done:
            self.journal.record(
                run_id,
                step_id,
                S.SUCCEEDED,
                at=now,
                who=self.who,
                reason=f"marked done by hand: {reason}",
                detail={"mark_done": True},
            )
            self.emit(Notice(f"{step_id} marked done by {self.who}: {reason}", step_id))
        self.emit(
            RunStarted(
                plan.name,
                run_id,
                self.who,
                redacted(plan.params),
                plan.fingerprint,
                True,
                len(plan.steps),
            )
        )
        return self._guarded(options, record.started_at)

    def _guarded(self, options: RunOptions, started_at: float) -> RunReport:
        run_id = self.env.run_id
        outcome, failed, reason = RunOutcome.SUCCEEDED, None, ""
        error: OpsbooksError | None = None
        try:
            self._walk(options)
        except StepFailed as exc:
            failed, reason, error = exc.step, exc.reason, exc
            outcome = RunOutcome.FAILED
            if not options.no_rollback and self._rollback():
                outcome = RunOutcome.ROLLED_BACK
        except GateStopped as exc:
            failed, reason, error = exc.step, exc.reason, exc
            outcome = RunOutcome.STOPPED
            if exc.rollback and not options.no_rollback:
                self._rollback()
        except Interrupted as exc:
            reason, error, outcome = str(exc), exc, RunOutcome.INTERRUPTED
        except OSError as exc:  # e.g. EIO writing to a terminal that hung up
            error = Interrupted(f"lost the terminal or output stream ({exc.strerror or exc})")
            reason, outcome = str(error), RunOutcome.INTERRUPTED
        ended = self.wall_clock()
        states = self.journal.step_states(run_id)
        metrics = self.env.extras.setdefault("metrics", {})
        runbook = self.env.plan.runbook
        metrics.update(
            recovery_figures(
                rto_target=runbook.rto,
                rpo_target=runbook.rpo,
                rto_steps=runbook.rto_steps,
                finished_at=last_success_times(self.journal.transitions(run_id)),
                metrics=metrics,
            )
        )
        hint = "" if outcome is RunOutcome.SUCCEEDED else self.resume_hint(run_id)
        self.journal.finish_run(
            run_id,
            outcome,
            ended_at=ended,
            failed_step=failed,
            reason=self.redactor.text(reason) or None,
            metrics=self.env.extras.get("metrics", {}),
        )
        self.journal.release_lock(self.env.plan.name, run_id)
        self.emit(RunFinished(outcome.value, ended - started_at, failed, reason, hint))
        return RunReport(
            run_id=run_id,
            runbook=self.env.plan.name,
            outcome=outcome,
            steps=states,
            answers=dict(self.env.answers),
            outputs=dict(self.env.outputs),
            duration=ended - started_at,
            failed_step=failed,
            reason=reason,
            error=error,
            resume_command=hint,
            metrics=dict(self.env.extras.get("metrics", {})),
        )

    # -- step walk --------------------------------------------------------------------

    def _walk(self, options: RunOptions) -> None:
        plan, run_id = self.env.plan, self.env.run_id
        states = self.journal.step_states(run_id)
        routes = _recorded_routes(self.journal, run_id)
        abandoned = _abandoned(self.journal, run_id)
        self._completed = [s for s in plan.ids() if states.get(s) is S.SUCCEEDED]
        self.env.outputs.update(
            outputs.recorded(
                t.detail for t in self.journal.transitions(run_id) if t.status is S.SUCCEEDED
            )
        )
        jump: str | None = None
        for index, planned in enumerate(plan.steps, start=1):
            status = states.get(planned.id, S.PENDING)
            if jump is not None and planned.id != jump:
                if status not in DONE:
                    self._skip(planned, f"branch routed to {jump}")
                continue
            jump = None
            if status in DONE:
                jump = routes.get(planned.id)
                continue
            signal_name = self.stop_requested()
            if signal_name:
                raise Interrupted(signal_name)
            in_flight = status is S.RUNNING or (status is S.STOPPED and planned.id in abandoned)
            if in_flight and not self._rerun_in_flight(planned):
                continue
            if planned.skip_reason:
                self._skip(planned, planned.skip_reason)
                continue
            holds, why = condition_holds(planned, self.env)
            if not holds:
                self._skip(planned, why)
                continue
            if options.step_mode and not self._step_mode_allows(planned):
                continue
            jump = self._step(planned, index, len(plan.steps))

    def _rerun_in_flight(self, planned: PlannedStep) -> bool:
        """A step was running at a crash: re-run if idempotent, else ask a person."""
        if planned.idempotent:
            self.emit(
                Notice(f"{planned.id} was in flight at a crash; idempotent, re-running", planned.id)
            )
            return True
        if planned.kind in ("gate", "manual"):  # asking again is harmless; nothing ran
            self.emit(Notice(f"{planned.id} was waiting for an answer; asking again", planned.id))
            return True
        answer = self._ask(resume_request(planned.id, planned.title))
        if answer.value == "re-run":
            return True
        if answer.value == "mark-done":
            self.journal.record(
                self.env.run_id,
                planned.id,
                S.SUCCEEDED,
                at=self.wall_clock(),
                who=answer.approver,
                reason="confirmed completed on resume",
                detail={"mark_done": True},
            )
            self._completed.append(planned.id)
            return False
        raise GateStopped(f"resume:{planned.id}", "operator chose to abort on resume")

    def _step_mode_allows(self, planned: PlannedStep) -> bool:
        request = GateRequest(
            step_id=f"step:{planned.id}",
            kind="step",
            title=planned.title,
            prompt=f"Next: {planned.id} ({planned.kind}) {planned.shown or planned.text or ''}",
            choices=("continue", "skip", "abort"),
        )
        answer = self._ask(request)
        if answer.value == "skip":
            self._skip(planned, f"skipped in --step mode by {answer.approver}")
            return False
        if answer.value == "abort":
            raise GateStopped(planned.id, f"aborted in --step mode by {answer.approver}")
        return True

    def _skip(self, planned: PlannedStep, reason: str) -> None:
        self.journal.record(
            self.env.run_id, planned.id, S.SKIPPED, at=self.wall_clock(), reason=reason
        )
        self.emit(StepFinished(planned.id, S.SKIPPED.value, 0.0, reason=reason, attempts=0))

    def _step(self, planned: PlannedStep, index: int, total: int) -> str | None:
        run_id = self.env.run_id
        try:
            planned = with_outputs(planned, self.env.plan.params, self.env.outputs)
        except TemplateError as exc:
            self.journal.record(run_id, planned.id, S.RUNNING, at=self.wall_clock(), attempt=1)
            self.journal.record(run_id, planned.id, S.FAILED, at=self.wall_clock(), reason=str(exc))
            self.emit(
                StepStarted(planned.id, planned.kind, planned.title, index, total, planned.shown)
            )
            self.emit(StepFinished(planned.id, S.FAILED.value, 0.0, reason=str(exc)))
            raise StepFailed(planned.id, str(exc)) from None
        self.journal.record(
            run_id,
            planned.id,
            S.RUNNING,
            at=self.wall_clock(),
            attempt=1,
            detail={"command": self.redactor.text(planned.shown)} if planned.shown else None,
        )
        self.emit(StepStarted(planned.id, planned.kind, planned.title, index, total, planned.shown))
        try:
            if planned.automated:
                with self.env.console.heartbeat(planned.id, self.heartbeat_every):
                    result = execute(planned, self.env)
            else:
                result = execute(planned, self.env)
        except GateStopped as stop:
            self.journal.record(
                run_id, planned.id, S.STOPPED, at=self.wall_clock(), reason=stop.reason
            )
            self.emit(StepFinished(planned.id, S.STOPPED.value, 0.0, reason=stop.reason))
            raise
        tail = self.redactor.text(result.tail())
        if self.abandon_requested():
            why = "abandoned by the operator (second Ctrl-C); it may have partly run"
            self.journal.record(
                run_id,
                planned.id,
                S.STOPPED,
                at=self.wall_clock(),
                output_tail=tail,
                reason=why,
                detail={"abandoned": True},
            )
            self.emit(StepFinished(planned.id, S.STOPPED.value, result.duration, reason=why))
            raise Interrupted("SIGINT (step abandoned)")
        produced = self._published(planned, result)
        reason = self.redactor.text(result.reason)
        status = S.SUCCEEDED if result.ok else S.FAILED
        detail: dict[str, Any] = dict(result.detail)
        if produced:
            detail["outputs"] = {k: self.redactor.text(v) for k, v in produced.items()}
        if result.route:
            detail["route"] = result.route
        self.journal.record(
            run_id,
            planned.id,
            status,
            at=self.wall_clock(),
            attempt=result.attempts,
            exit_code=result.exit_code,
            duration=result.duration,
            output_tail=tail,
            reason=reason,
            detail=detail,
        )
        self.emit(
            StepFinished(
                planned.id,
                status.value,
                result.duration,
                result.exit_code,
                reason,
                tail,
                result.attempts,
            )
        )
        if not result.ok:
            partly = "ok" in result.detail.get("hosts", {}).values()
            if partly or planned.undo_on_failure:
                self._completed.append(planned.id)  # may be partly done: undo it too
            raise StepFailed(
                planned.id,
                reason,
                exit_code=result.exit_code,
                output_tail=tail,
                attempts=result.attempts,
            )
        self.env.extras.setdefault("metrics", {}).update(metric_lines(result.output))
        self._completed.append(planned.id)
        return result.route

    # -- gates ------------------------------------------------------------------------

    def ask_gate(self, planned: PlannedStep) -> StepResult:
        """Answer a gate or manual step; declines and silence stop the run (resumable)."""
        request = request_for(planned, self._context_lines(), param_values(self.env.params))
        assert request is not None
        answer = self._ask(request)
        self.env.answers[planned.id] = answer.value
        if answer.approved:
            return StepResult(ok=True, answer=answer.value, output=f"answer: {answer.value!r}")
        item = planned.step
        raise GateStopped(
            planned.id,
            f"declined by {answer.approver}",
            rollback=bool(getattr(item, "rollback_on_decline", False)),
        )

    def ask(self, request: GateRequest) -> GateAnswer:
        """Ask any question through the run's prompters, journaled like a gate."""
        return self._ask(request)

    def _ask(self, request: GateRequest) -> GateAnswer:
        request = replace(request, cancelled=self.stop_requested)
        try:
            answer = self.prompter.answer(request)
        except NoAnswer as exc:
            default = request.default
            item_timeout = exc.timed_out
            planned = _maybe(self.env.plan, request.step_id)
            on_timeout = getattr(planned.step, "on_timeout", "abort") if planned else "abort"
            if item_timeout and on_timeout == "default" and default is not None:
                now = self.wall_clock()
                answer = GateAnswer(default, self.who, "default after timeout", now, now)
            else:
                rollback = bool(planned and getattr(planned.step, "rollback_on_decline", False))
                raise GateStopped(
                    request.step_id, exc.reason, rollback=item_timeout and rollback
                ) from None
        self.journal.record_gate(
            GateRecord(
                self.env.run_id,
                request.step_id,
                request.kind,
                self.redactor.text(request.prompt),
                self.redactor(answer.value),
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
                answer.value,
                answer.approver,
                answer.source,
                answer.answered_at - answer.asked_at,
                question=self.redactor.text(request.prompt),
            )
        )
        return answer

    def _published(self, planned: PlannedStep, result: StepResult) -> dict[str, str]:
        """Collect what a succeeded step published; a declared output missing fails it."""
        if not result.ok:
            return {}
        returned = self.env.outputs.get(planned.id) if planned.kind == "python" else None
        try:
            lines = result.published or outputs.parse(result.output)
            produced = outputs.published(planned.id, planned.outputs, lines, returned)
        except TemplateError as exc:
            result.ok, result.reason = False, str(exc)
            return {}
        self.env.outputs.update(produced)
        return produced

    def _context_lines(self) -> tuple[str, ...]:
        params = redacted(self.env.plan.params)
        lines = [f"runbook {self.env.plan.name}, run {self.env.run_id}"]
        if params:
            lines.append("params: " + ", ".join(f"{k}={v}" for k, v in params.items()))
        if self._completed:
            lines.append("done so far: " + ", ".join(self._completed))
        return tuple(lines)

    # -- rollback ---------------------------------------------------------------------

    def _rollback(self) -> bool:
        """Run the undo of each completed step, newest first; True if some ran and all held."""
        plan, run_id = self.env.plan, self.env.run_id
        clean, undone = True, 0
        for step_id in reversed(self._completed):
            undo = plan.get(step_id).undo
            if undo is None:
                continue
            unbound = ""
            try:
                compensation = with_outputs(plan.get(undo), plan.params, self.env.outputs)
            except TemplateError as exc:
                compensation, unbound = plan.get(undo), str(exc)
            self.emit(
                StepStarted(
                    undo,
                    compensation.kind,
                    f"undo {step_id}: {compensation.title}",
                    0,
                    0,
                    compensation.shown,
                )
            )
            self.env.extras["undo_of"] = step_id
            try:
                result = (
                    StepResult(ok=False, reason=unbound)
                    if unbound
                    else execute(compensation, self.env)
                )
            except GateStopped as stop:
                result = StepResult(ok=False, reason=stop.reason)
            finally:
                self.env.extras.pop("undo_of", None)
            status = S.COMPENSATED if result.ok else S.COMPENSATION_FAILED
            reason = self.redactor.text(result.reason)
            self.journal.record(
                run_id,
                step_id,
                status,
                at=self.wall_clock(),
                exit_code=result.exit_code,
                duration=result.duration,
                output_tail=self.redactor.text(result.tail()),
                reason=reason,
                detail={"undo": undo},
            )
            self.emit(Compensated(step_id, undo, status.value, reason))
            clean = clean and result.ok
            undone += 1
        self._completed = []
        return clean and undone > 0

    def emit(self, event: Event) -> None:
        for observer in self.observers:
            observer(event)


def _maybe(plan: Plan, step_id: str) -> PlannedStep | None:
    try:
        return plan.get(step_id)
    except KeyError:
        return None


def _abandoned(journal: Journal, run_id: str) -> set[str]:
    """Steps whose latest record says they were cut off mid-way by the operator."""
    latest = {t.step_id: t for t in journal.transitions(run_id)}
    return {step for step, t in latest.items() if t.detail.get("abandoned")}


def _recorded_routes(journal: Journal, run_id: str) -> dict[str, str]:
    routes = {}
    for transition in journal.transitions(run_id):
        route = transition.detail.get("route")
        if transition.status is S.SUCCEEDED and route:
            routes[transition.step_id] = str(route)
    return routes


def new_run_id() -> str:
    """Sortable by time, unique enough to type a prefix of."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
