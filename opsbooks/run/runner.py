"""The runner: drive a plan step by step, journal every transition, roll back on failure.

Layers: ``start``/``resume`` (a run) -> ``_walk`` (steps in order, branches, resume
decisions) -> ``StepRunner`` (one step: journal, events, execute) -> the kind's
executor -> a backend. A transition is written to the journal before the runner moves
on, so a crash at any moment leaves a record that resume can trust. Every effect is
injected by the composition root (``edges.session``); the runner reads no flag, no
clock and no environment of its own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from opsbooks.define import outputs
from opsbooks.define.params import redacted
from opsbooks.errors import GateStopped, Interrupted, OpsbooksError, RunFailed, StepFailed
from opsbooks.plan.binding import PlannedStep
from opsbooks.plan.selection import chosen_steps
from opsbooks.plan.state import DONE, IllegalTransition, RunOutcome, StepStatus
from opsbooks.records.events import Event, Notice, RunFinished, RunStarted
from opsbooks.records.journal import Journal, RunRecord, Transition
from opsbooks.records.metrics import last_success_times, recovery_figures
from opsbooks.records.redaction import Redactor
from opsbooks.run import diagnosis, host_outputs
from opsbooks.run import selection as keywords
from opsbooks.run.conditions import condition_holds
from opsbooks.run.execute import Executor, StepEnv, execute
from opsbooks.run.gates import GateAnswer, GateRequest
from opsbooks.run.hooks import StepHooks
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.run.per_host import NodeFirstWalk
from opsbooks.run.policies import FailurePolicy, StepPolicy, every_step
from opsbooks.run.questions import Questions, resume_request, undo_resume_request
from opsbooks.run.reconcile import Reconciliation
from opsbooks.run.rollback import Rollback
from opsbooks.run.state import RunState
from opsbooks.run.stepping import Recorded, StepRunner

S = StepStatus


@dataclass(frozen=True, eq=False)  # never compared: no __eq__/__hash__ made at import
class Runner:
    """Runs one plan; built once, with every dependency, by the composition root."""

    env: StepEnv
    questions: Questions
    journal: Journal
    redactor: Redactor
    who: str
    host: str
    pid: int
    emit: Callable[[Event], None]
    before_step: StepPolicy = every_step
    on_failure: FailurePolicy = field(default_factory=FailurePolicy)
    execute: Executor = execute
    stop_requested: Callable[[], str | None] = lambda: None
    abandon_requested: Callable[[], bool] = lambda: False
    heartbeat_every: float = 30.0
    #: ``--step``: offer a step the run went on past (``on_failure="continue"``) again
    revisit_continued: bool = False
    resume_hint: Callable[[str], str] = lambda run_id: f"opsbooks resume {run_id}"
    #: code the runbook and the project run before, after or around each forward step
    hooks: StepHooks = field(default_factory=StepHooks)
    #: a transition with its event's audit anchor in one commit (``StepRunner.recorded``)
    recorded: Recorded | None = None

    # -- run level --------------------------------------------------------------------

    def start(self, options: RunOptions, *, run_id: str | None = None) -> RunReport:
        plan = self.env.plan
        run = RunState(run_id or new_run_id(self.env.clock.wall()))
        now = self.env.clock.wall()
        previous = self.journal.lock_holder(plan.name)
        self.journal.acquire_lock(plan.name, run.run_id, at=now, force=options.force)
        if previous is not None and previous[0] != run.run_id:
            self._close_crashed(previous[0], run.run_id, now)
        self.journal.create_run(
            RunRecord(
                id=run.run_id,
                runbook=plan.name,
                fingerprint=plan.fingerprint,
                params=redacted(plan.params),
                options={**options.to_dict(), **chosen_steps(plan)},
                who=self.who,
                host=self.host,
                pid=self.pid,
                started_at=now,
            )
        )
        self._announce(run, resumed=False)
        return self._guarded(run, now)

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

    def resume(
        self, run_id: str, options: RunOptions, reconciled: Reconciliation | None = None
    ) -> RunReport:
        plan = self.env.plan
        record = self.journal.get_run(run_id)
        run = RunState(record.id, metrics=dict(record.metrics))
        now = self.env.clock.wall()
        previous = self.journal.lock_holder(plan.name)
        self.journal.acquire_lock(plan.name, run.run_id, at=now, force=options.force)
        if previous is not None and previous[0] != run.run_id:
            self._close_crashed(previous[0], run.run_id, now)
        self.journal.reopen_run(run.run_id, pid=self.pid, host=self.host)
        run.answers.update(self.journal.answers(run.run_id))
        if reconciled:  # what newer runs of the runbook did since this one stopped
            reconciled.apply(self.journal, at=now)
            for said in reconciled.notices():
                self.emit(Notice(f"carried in from a newer run: {said}"))
        for step_id, reason in options.marked_done:
            self.journal.record(
                run.run_id,
                step_id,
                S.SUCCEEDED,
                at=now,
                who=self.who,
                reason=f"marked done by hand: {reason}",
                detail={"mark_done": True},
            )
            self.emit(Notice(f"{step_id} marked done by {self.who}: {reason}", step_id))
        self._announce(run, resumed=True)
        return self._guarded(run, record.started_at)

    def ask(self, request: GateRequest, run_id: str) -> GateAnswer:
        """Ask a question outside any step (a changed definition on resume), journaled."""
        return self.questions.ask(request, RunState(run_id))

    def _announce(self, run: RunState, *, resumed: bool) -> None:
        plan = self.env.plan
        self.emit(
            RunStarted(
                plan.name,
                run.run_id,
                self.who,
                redacted(plan.params),
                plan.fingerprint,
                resumed,
                len(plan.steps),
            )
        )

    def _guarded(self, run: RunState, started_at: float) -> RunReport:
        outcome, failed, reason = RunOutcome.SUCCEEDED, None, ""
        error: OpsbooksError | None = None
        rollback = Rollback(self.env, self.journal, self.redactor, self.execute, self.emit)
        cut = [s for s, st in self.journal.step_states(run.run_id).items() if st is S.COMPENSATING]
        try:
            if cut:
                return self._finish(run, started_at, *self._finish_rollback(run, cut, rollback))
            self._walk(run)
        except StepFailed as exc:
            failed, reason, error = exc.step, exc.reason, exc
            outcome = RunOutcome.FAILED
            if (
                self.on_failure.rollback
                and keywords.rolls_back(self.env.plan, exc.step, self.emit)
                and rollback(run)
            ):
                outcome = RunOutcome.ROLLED_BACK
        except GateStopped as exc:
            failed, reason, error = exc.step, exc.reason, exc
            outcome = RunOutcome.STOPPED
            if exc.rollback and self.on_failure.rollback:
                rollback(run)
        except Interrupted as exc:
            reason, error, outcome = str(exc), exc, RunOutcome.INTERRUPTED
        except IllegalTransition as exc:  # a bug: end the run cleanly, lock released
            reason = f"opsbooks refused an illegal step transition ({exc}); please report it"
            error, outcome = RunFailed(reason), RunOutcome.FAILED
        except OSError as exc:  # e.g. EIO writing to a terminal that hung up
            error = Interrupted(f"lost the terminal or output stream ({exc.strerror or exc})")
            reason, outcome = str(error), RunOutcome.INTERRUPTED
        outcome, reason = keywords.with_warnings(outcome, reason, run.warnings)
        return self._finish(run, started_at, outcome, failed, reason, error)

    def _finish(
        self,
        run: RunState,
        started_at: float,
        outcome: RunOutcome,
        failed: str | None,
        reason: str,
        error: OpsbooksError | None,
    ) -> RunReport:
        ended = self.env.clock.wall()
        info = self.env.plan.info
        current = self.journal.current(run.run_id)  # the rows with a detail, not the history
        # RTO: the two steps' latest successes, which may carry no detail
        succeeded = self.journal.transitions(run.run_id) if info.rto_steps else current
        run.metrics.update(
            recovery_figures(
                rto_target=info.rto,
                rpo_target=info.rpo,
                rto_steps=info.rto_steps,
                finished_at=last_success_times(succeeded),
                metrics=run.metrics,
            )
        )
        closed = outcome in (RunOutcome.SUCCEEDED, RunOutcome.SUCCEEDED_WITH_WARNINGS)
        hint = "" if closed else self.resume_hint(run.run_id)
        self.journal.finish_run(
            run.run_id,
            outcome,
            ended_at=ended,
            failed_step=failed,
            reason=self.redactor.text(reason) or None,
            metrics=run.metrics,
        )
        self.journal.release_lock(self.env.plan.name, run.run_id)
        leaf = diagnosis.announce_end(current, self.emit)
        self.emit(RunFinished(outcome.value, ended - started_at, failed, reason, hint))
        return RunReport(
            run_id=run.run_id,
            runbook=self.env.plan.name,
            outcome=outcome,
            steps=self.journal.step_states(run.run_id),
            answers=dict(run.answers),
            outputs=dict(run.outputs),
            duration=ended - started_at,
            failed_step=failed,
            reason=reason,
            error=error,
            resume_command=hint,
            metrics=dict(run.metrics),
            **leaf,  # the Diagnosis the run ended at, if any
        )

    # -- step walk --------------------------------------------------------------------

    def _walk(self, run: RunState) -> None:
        plan = self.env.plan
        # what each step's rows still say, not every row (a long run's resume read 2N)
        transitions = self.journal.current(run.run_id)
        states = self.journal.step_states(run.run_id)
        routes = _recorded_routes(transitions)
        abandoned = _abandoned(transitions)
        continued = keywords.continued_failures(transitions)
        run.completed[:] = [s for s in plan.ids() if states.get(s) is S.SUCCEEDED]
        run.outputs.update(
            outputs.recorded(t.detail for t in transitions if t.status is S.SUCCEEDED)
        )
        run.host_outputs.update(host_outputs.replay(transitions))  # also of failed attempts
        self.questions.reask_secrets(run)  # a secret answer was never stored
        stepper = StepRunner(
            *(self.env, self.journal, self.redactor, self.execute, self.emit),
            *(self.abandon_requested, self.heartbeat_every, self.who, self.recorded),
        )
        node_first = NodeFirstWalk(self, stepper, states, transitions, abandoned)
        jump: str | None = None
        for index, planned in enumerate(plan.steps, start=1):
            status = states.get(planned.id, S.PENDING)
            if jump is not None and planned.id != jump:
                if status not in DONE:  # a branch's route, or the end at a diagnosis
                    stepper.skip(planned, run, diagnosis.skip_reason(jump))
                continue
            jump = None
            if node_first.sections and node_first.owns(planned.id, run):  # its section runs as one
                continue
            # done: skipped over, unless a setup or rerun_on_resume step (it runs again)
            if status in DONE and not keywords.runs_again(planned, status):
                jump = routes.get(planned.id)
                continue
            if keywords.kept_failed(planned, run, continued, revisit=self.revisit_continued):
                continue
            signal_name = self.stop_requested()
            if signal_name:
                raise Interrupted(signal_name)
            in_flight = status is S.RUNNING or (status is S.STOPPED and planned.id in abandoned)
            if in_flight and not self._rerun_in_flight(planned, run):
                continue
            why_not = self._why_not(planned, run)
            if why_not is not None:
                stepper.skip(planned, run, why_not)
                continue
            jump = self.hooks.run(stepper, planned, run, index, len(plan.steps))

    def _finish_rollback(
        self, run: RunState, cut: list[str], rollback: Rollback
    ) -> tuple[RunOutcome, str | None, str, OpsbooksError | None]:
        """A crash cut a rollback off: undo what is still in place, newest first."""
        plan = self.env.plan
        self.emit(
            Notice(
                f"the rollback of run {run.run_id} was cut off during the undo of "
                f"{', '.join(cut)}; finishing the rollback"
            )
        )
        states = self.journal.step_states(run.run_id)
        marked = {step_id for step_id in cut if not self._rerun_undo(step_id, run)}
        in_place = (S.SUCCEEDED, S.COMPENSATING)
        run.completed[:] = [s for s in plan.ids() if states.get(s) in in_place and s not in marked]
        nothing_left = not run.completed
        clean = nothing_left or rollback(run)
        reason = "the rollback cut off by a crash was finished on resume"
        outcome = RunOutcome.ROLLED_BACK if clean else RunOutcome.FAILED
        record = self.journal.get_run(run.run_id)
        failed = record.failed_step
        if not clean:
            reason = "the rollback cut off by a crash was resumed, and an undo failed"
        return outcome, failed, reason, RunFailed(reason)

    def _rerun_undo(self, step_id: str, run: RunState) -> bool:
        """Whether to run a cut-off undo again: yes if idempotent, else a person says."""
        undo = self.env.plan.get(step_id).undo or ""
        compensation = self.env.plan.get(undo)
        if compensation.idempotent:
            return True
        answer = self.questions.ask(undo_resume_request(step_id, compensation.title), run)
        if answer.value == "re-run":
            return True
        if answer.value == "mark-done":
            self.journal.record(
                run.run_id,
                step_id,
                S.COMPENSATED,
                at=self.env.clock.wall(),
                who=answer.approver,
                reason="undo confirmed completed on resume",
                detail={"undo": undo, "mark_done": True},
            )
            return False
        raise GateStopped(f"resume:undo:{step_id}", "operator chose to abort on resume")

    def _why_not(self, planned: PlannedStep, run: RunState) -> str | None:
        """Why a due step does not run (skipped, condition false, --step), or None."""
        if planned.skip_reason:
            return planned.skip_reason
        holds, why = condition_holds(planned, self.env, run)
        if not holds:
            return why
        return self.before_step(planned, run)

    def _rerun_in_flight(self, planned: PlannedStep, run: RunState) -> bool:
        """A step was running at a crash: re-run if idempotent, else ask a person."""
        if planned.idempotent or planned.setup or planned.rerun_on_resume:
            self.emit(
                Notice(f"{planned.id} was in flight at a crash; idempotent, re-running", planned.id)
            )
            return True
        if planned.kind in ("gate", "manual"):  # asking again is harmless; nothing ran
            self.emit(Notice(f"{planned.id} was waiting for an answer; asking again", planned.id))
            return True
        answer = self.questions.ask(resume_request(planned.id, planned.title), run)
        if answer.value == "re-run":
            return True
        if answer.value == "mark-done":
            self.journal.record(
                run.run_id,
                planned.id,
                S.SUCCEEDED,
                at=self.env.clock.wall(),
                who=answer.approver,
                reason="confirmed completed on resume",
                detail={"mark_done": True},
            )
            run.completed.append(planned.id)
            return False
        raise GateStopped(f"resume:{planned.id}", "operator chose to abort on resume")


def _abandoned(transitions: list[Transition]) -> set[str]:
    """Steps whose latest record says they were cut off mid-way by the operator."""
    latest = {t.step_id: t for t in transitions}
    return {step for step, t in latest.items() if t.detail.get("abandoned")}


def _recorded_routes(transitions: list[Transition]) -> dict[str, str]:
    routes = {}
    for transition in transitions:
        route = transition.detail.get("route")
        if transition.status is S.SUCCEEDED and route:
            routes[transition.step_id] = str(route)
    return routes


def new_run_id(now: float) -> str:
    """Sortable by time, unique enough to type a prefix of."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + "-" + uuid.uuid4().hex[:6]
