"""One step, journaled: running, then its result, with events around it.

Used by the runner for forward steps; the transition to ``running`` is durable before
the step's effect starts, and its result is durable before the runner moves on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from opsbooks.define import outputs
from opsbooks.define.template import TemplateError
from opsbooks.errors import GateStopped, Interrupted, StepFailed
from opsbooks.plan.binding import PlannedStep
from opsbooks.plan.sections import headings
from opsbooks.plan.state import StepStatus
from opsbooks.records.events import (
    Event,
    Notice,
    StepFinished,
    StepNote,
    StepSections,
    StepStarted,
)
from opsbooks.records.journal.protocol import Journal
from opsbooks.records.metrics import metric_lines
from opsbooks.records.redaction import Redactor
from opsbooks.run import host_outputs
from opsbooks.run.execute import Executor, StepEnv
from opsbooks.run.facts import record_facts
from opsbooks.run.notes import per_host
from opsbooks.run.outcome import StepResult
from opsbooks.run.selection import CONTINUED, QuietOutput, again_detail, warning
from opsbooks.run.state import RunState

S = StepStatus

#: Write an event's audit line, then ``record(anchor)`` (the transition it goes with,
#: committed with that line's anchor), then show the event to every other observer.
Recorded = Callable[[Event, Callable[[str | None], None]], None]


@dataclass(frozen=True, eq=False)  # never compared: no __eq__/__hash__ made at import
class StepRunner:
    """Runs one planned step and journals every transition of it."""

    env: StepEnv
    journal: Journal
    redactor: Redactor
    execute: Executor
    emit: Callable[[Event], None]
    abandon_requested: Callable[[], bool]
    heartbeat_every: float
    #: the run's operator, who a fact a step establishes is credited to (a gate: its approver)
    who: str = ""
    #: the composition root's audited emit (``edges/anchoring.py``); None: record, then emit
    recorded: Recorded | None = None

    def _journaled(self, event: Event, record: Callable[[str | None], None]) -> None:
        """One commit for a transition and its event's audit anchor, where two were.

        The audit line is written (fsynced) first, then the transition with the line's
        anchor, then the console and the other observers see the event: the transition
        is still durable before anything acts on it. A crash between the line and the
        commit leaves one line past the anchor, the window ``audit verify`` tolerates,
        and the step as if that transition had not been made (not started, or in
        flight), which resume handles.
        """
        if self.recorded is None:
            record(None)
            self.emit(event)
        else:
            self.recorded(event, record)

    def skip(self, planned: PlannedStep, run: RunState, reason: str) -> None:
        again, at = again_detail(planned) or None, self.env.clock.wall()
        self._journaled(
            StepFinished(planned.id, S.SKIPPED.value, 0.0, reason=reason, attempts=0),
            lambda head: self.journal.record(
                run.run_id, planned.id, S.SKIPPED, at=at, reason=reason, detail=again,
                audit_head=head,
            ),
        )  # fmt: skip

    def run(self, planned: PlannedStep, run: RunState, index: int, total: int) -> str | None:
        """Run ``planned``; return the branch route it chose; raise ``StepFailed`` on failure."""
        if "." in planned.id:  # a step in a section: the console heads it with its section
            self.emit(StepSections(planned.id, headings(self.env.plan, planned.id)))
        planned = self._bound(planned, run, index, total)
        now = self.env.clock.wall()
        note = self.redactor.text(planned.note or "")
        detail = {"command": self.redactor.text(planned.shown)} if planned.shown else {}
        detail |= ({"note": note} if note else {}) | again_detail(planned)
        self._journaled(
            StepStarted(planned.id, planned.kind, planned.title, index, total, planned.shown),
            lambda head: self.journal.record(
                run.run_id, planned.id, S.RUNNING, at=now, attempt=1, detail=detail or None,
                audit_head=head,
            ),
        )  # fmt: skip
        if note and not per_host(planned):  # a {host.*} note is shown as each host starts
            self.emit(StepNote(planned.id, note))
        result = self._execute(planned, run)
        tail = self.redactor.text(result.tail())
        if self.abandon_requested():
            self._abandoned(planned, run, result, tail)
        result, produced = self._published(planned, run, result)
        reason = self.redactor.text(result.reason)
        status = S.SUCCEEDED if result.ok else S.FAILED
        finished_at = self.env.clock.wall()
        # how the run took this failure (went on, or stopped without a rollback)
        custom = not result.ok and planned.on_failure != "rollback"
        policy = {CONTINUED: planned.on_failure} if custom else {}
        detail = self._detail(result, produced) | policy
        self._journaled(
            StepFinished(
                planned.id,
                status.value,
                result.duration,
                result.exit_code,
                reason,
                tail,
                result.attempts,
            ),
            lambda head: self.journal.record(
                run.run_id,
                planned.id,
                status,
                at=finished_at,
                attempt=result.attempts,
                exit_code=result.exit_code,
                duration=result.duration,
                output_tail=tail,
                reason=reason,
                detail=detail,
                audit_head=head,
            ),
        )
        if not result.ok:
            partly = "ok" in dict(result.detail.get("hosts", {})).values()
            if partly or planned.undo_on_failure:
                run.completed.append(planned.id)  # may be partly done: undo it too
            if planned.on_failure == "continue":
                self._went_on(planned, run, reason)
                return None
            raise StepFailed(
                planned.id,
                reason,
                exit_code=result.exit_code,
                output_tail=tail,
                attempts=result.attempts,
            )
        run.metrics.update(metric_lines(result.output))
        record_facts(
            self.journal,
            self.emit,
            self.redactor,
            planned,
            run.run_id,
            result,
            at=finished_at,
            who=self.who,
        )
        run.completed.append(planned.id)
        return result.route

    def _bound(self, planned: PlannedStep, run: RunState, index: int, total: int) -> PlannedStep:
        """Bind ``{outputs.*}``; a missing output fails the step before it starts."""
        try:
            return host_outputs.bound(planned, self.env.plan.params, run)
        except TemplateError as exc:
            now = self.env.clock.wall()
            self.journal.record(run.run_id, planned.id, S.RUNNING, at=now, attempt=1)
            self.journal.record(run.run_id, planned.id, S.FAILED, at=now, reason=str(exc))
            # its command never starts: no `$ command` line as if it had run
            self.emit(StepStarted(planned.id, planned.kind, planned.title, index, total, None))
            self.emit(StepFinished(planned.id, S.FAILED.value, 0.0, reason=str(exc)))
            raise StepFailed(planned.id, str(exc)) from None

    def _went_on(self, planned: PlannedStep, run: RunState, reason: str) -> None:
        """A non-critical step failed: say so, keep it as a warning, and go on."""
        run.warnings.append(warning(planned.id, reason))
        why = "declares on_failure='continue': the run goes on; it ends with warnings"
        self.emit(Notice(f"{planned.id} failed and {why}", planned.id))

    def _execute(self, planned: PlannedStep, run: RunState) -> StepResult:
        env = replace(self.env, output=QuietOutput(self.env.output)) if planned.quiet else self.env
        try:
            if planned.automated:
                with env.output.heartbeat(planned.id, self.heartbeat_every):
                    return self.execute(planned, env, run)
            return self.execute(planned, env, run)
        except GateStopped as stop:
            self.journal.record(
                run.run_id, planned.id, S.STOPPED, at=self.env.clock.wall(), reason=stop.reason
            )
            self.emit(StepFinished(planned.id, S.STOPPED.value, 0.0, reason=stop.reason))
            raise

    def _abandoned(
        self, planned: PlannedStep, run: RunState, result: StepResult, tail: str
    ) -> None:
        why = "abandoned by the operator (second Ctrl-C); it may have partly run"
        self.journal.record(
            run.run_id,
            planned.id,
            S.STOPPED,
            at=self.env.clock.wall(),
            output_tail=tail,
            reason=why,
            detail={"abandoned": True},
        )
        self.emit(StepFinished(planned.id, S.STOPPED.value, result.duration, reason=why))
        raise Interrupted("SIGINT (step abandoned)")

    def _published(
        self, planned: PlannedStep, run: RunState, result: StepResult
    ) -> tuple[StepResult, dict[str, str]]:
        """Collect what a succeeded step published; a declared output missing fails it."""
        if host_outputs.per_host(planned):  # per host, also from the hosts of a failed step
            return host_outputs.publish(run, result, self.redactor), {}
        if not result.ok:
            return result, {}
        try:
            lines = dict(result.published) or outputs.parse(result.output)
            produced = outputs.published(planned.id, planned.outputs, lines, result.returned)
            self._ignored(planned, outputs.undeclared(planned.outputs, lines))
        except TemplateError as exc:
            return replace(result, ok=False, reason=str(exc)), {}
        run.outputs.update(produced)
        return result, produced

    def _ignored(self, planned: PlannedStep, names: list[str]) -> None:
        """Note ``::output`` lines for names ``planned`` does not declare: never published."""
        if names:
            listed = ", ".join(names)
            why = f"ignored `::output` line(s) for {listed}: the step does not declare them"
            self.emit(Notice(f"{planned.id}: {why}", planned.id))

    def _detail(self, result: StepResult, produced: dict[str, str]) -> dict[str, Any]:
        detail: dict[str, Any] = dict(result.detail)
        tainted = sorted(k for k, v in produced.items() if self.redactor.tainted(v))
        for name in tainted:  # derived from a secret: a secret itself from now on
            self.redactor.add(produced[name])
        if produced:
            detail["outputs"] = {k: self.redactor.text(v) for k, v in produced.items()}
        if tainted:
            detail[outputs.TAINTED] = tainted
        if result.route:
            detail["route"] = result.route
        return detail
