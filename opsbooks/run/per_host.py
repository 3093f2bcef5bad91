"""Node-first roll-out of a section: every step on one host (or batch) before the next.

``class upgrade(ob.Section, per_host=True)`` turns the usual order (step 1 on every
host, then step 2 on every host) around: the whole section runs on the first batch
of ``batch_size`` hosts, then on the next, so at most one batch is ever half-way
through the procedure. Each step still runs through the ``StepRunner`` and the
``RemoteSteps`` hook, restricted to the batch's hosts, so every host's result is
journaled as it finishes (``record_host``) and the journal needs nothing new:

- which host has which step in place is read from the host records (a success adds
  the host, a success of the step's undo removes it), so resume skips the hosts whose
  whole section is in place and starts the host that was cut off at its first step
  not done there;
- a step that already succeeded on an earlier batch starts again with the journal's
  ``again`` mark (the transition ``succeeded -> running`` is otherwise refused);
- ``max_failures`` counts failed hosts over the whole section; a failed host's
  section stops at the failing step (undone on that host if the step declares
  ``undo_on_failure``), the others go on, and one failure too many fails the step
  and the run as any remote step would (rolled back per host by ``Rollback``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from opsbooks.define.node_first import NodeFirst
from opsbooks.define.policies import human
from opsbooks.define.sections import SectionInfo
from opsbooks.define.template import TemplateError
from opsbooks.errors import GateStopped, Interrupted, StepFailed
from opsbooks.plan.binding import PlannedStep
from opsbooks.plan.state import StepStatus
from opsbooks.records.events import Compensated, Notice
from opsbooks.records.journal import HostRecord, Transition
from opsbooks.run import host_outputs
from opsbooks.run.gates import GateRequest
from opsbooks.run.state import RunState
from opsbooks.run.stepping import StepRunner

if TYPE_CHECKING:
    from opsbooks.run.runner import Runner

S = StepStatus


def node_first_sections(sections: tuple[SectionInfo, ...]) -> dict[str, NodeFirst]:
    """The plan's node-first sections by id (empty for a plan without any)."""
    return {info.id: info.rollout for info in sections if info.rollout is not None}


def threshold_allowed(limit: int | str, total: int) -> int:
    """How many of ``total`` hosts may fail: a count, or a share (``"25%"``)."""
    from opsbooks.backends.rollout import Threshold

    return Threshold.parse(limit).allowed(total)


@dataclass
class NodeFirstWalk:
    """The runner's walk over node-first sections: owns their steps, runs them as one."""

    runner: Runner
    stepper: StepRunner
    states: dict[str, StepStatus]
    transitions: list[Transition]
    #: steps whose latest record says they were abandoned mid-way (in flight too)
    abandoned: set[str]
    sections: dict[str, NodeFirst] = field(init=False)
    in_flight: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.sections = node_first_sections(self.runner.env.plan.sections)
        running = {s for s, st in self.states.items() if st is S.RUNNING}
        self.in_flight = running | self.abandoned

    def section_of(self, step_id: str) -> str | None:
        """The node-first section ``step_id`` belongs to, or None."""
        if not self.sections or "." not in step_id:
            return None
        section = step_id.rpartition(".")[0]
        return section if section in self.sections else None

    def owns(self, step_id: str, run: RunState) -> bool:
        """True for a step of a node-first section; its first step runs the whole section."""
        section = self.section_of(step_id)
        if section is None:
            return False
        plan = self.runner.env.plan
        members = [
            (n, p) for n, p in enumerate(plan.steps, start=1) if self.section_of(p.id) == section
        ]
        if members[0][1].id == step_id:
            info = next(i for i in plan.sections if i.id == section)
            _Section(self, info, members, run).run()
        return True


@dataclass
class _Section:
    """One node-first section in one walk: its hosts, batches and failure count."""

    walk: NodeFirstWalk
    info: SectionInfo
    members: list[tuple[int, PlannedStep]]
    run_state: RunState
    placed: dict[str, set[str]] = field(default_factory=dict)
    decided: dict[str, bool] = field(default_factory=dict)
    failures: int = 0

    @property
    def rollout(self) -> NodeFirst:
        assert self.info.rollout is not None
        return self.info.rollout

    def run(self) -> None:
        # lazy: remote_steps loads the hosts and roll-out code a local plan never uses
        from opsbooks.run.remote_steps import RemoteSteps, in_place

        runner, run = self.walk.runner, self.run_state
        hosts = runner.env.hosts
        if not isinstance(hosts, RemoteSteps):  # no hosts configured: each step says so
            for index, planned in self.members:
                runner.hooks.run(self.walk.stepper, planned, run, index, len(runner.env.plan.steps))
            return
        names = hosts.host_names(self.members[0][1])
        records = runner.journal.host_results(run.run_id)
        marked = _marked_done(self.walk.transitions)
        for _, planned in self.members:
            self.placed[planned.id] = (
                set(names)
                if planned.id in marked
                else in_place(records, planned.id, planned.undo)[0]
            )
        todo = [n for n in names if not all(n in self.placed[p.id] for _, p in self.members)]
        size = self.rollout.batch_size
        batches = [todo[i : i + size] for i in range(0, len(todo), size)]
        allowed = threshold_allowed(self.rollout.max_failures, len(names))
        for number, batch in enumerate(batches, start=1):
            signal_name = runner.stop_requested()
            if signal_name:
                raise Interrupted(signal_name)
            if number > 1:
                self._pause(number - 1)
            self._batch(batch, allowed, len(names))
        for _, planned in self.members:  # every host stopped before it: not run at all
            if self.walk.states.get(planned.id, S.PENDING) is S.PENDING:
                why = f"no host of node-first section {self.info.id} was left to run it on"
                self.walk.stepper.skip(planned, run, why)
                self.walk.states[planned.id] = S.SKIPPED

    def _batch(self, batch: list[str], allowed: int, total: int) -> None:
        """The whole section on ``batch``: each step on the hosts still going."""
        alive = list(batch)
        for index, planned in self.members:
            want = [h for h in alive if h not in self.placed[planned.id]]
            if not want or not self._due(planned):
                continue
            if planned.id in self.walk.in_flight:
                self.walk.in_flight.discard(planned.id)
                if not self.walk.runner._rerun_in_flight(planned, self.run_state):
                    self._marked_hosts(planned, want)  # a person said it completed
                    continue
            failed = self._step(planned, want, index, allowed, total)
            self.placed[planned.id] |= set(want) - failed
            if failed:
                self.failures += len(failed)
                alive = [h for h in alive if h not in failed]
                self._tolerated(planned, failed, allowed)

    def _due(self, planned: PlannedStep) -> bool:
        """Whether the step runs in this section at all (decided once, as the walk does)."""
        if planned.id in self.decided:
            return self.decided[planned.id]
        status = self.walk.states.get(planned.id, S.PENDING)
        why = None
        if status is S.SKIPPED:
            why = "skipped"
        elif status is not S.SUCCEEDED:  # begun on other hosts: its condition held then
            why = self.walk.runner._why_not(planned, self.run_state)
            if why is not None:
                self.walk.stepper.skip(planned, self.run_state, why)
                self.walk.states[planned.id] = S.SKIPPED
        self.decided[planned.id] = why is None
        return why is None

    def _step(
        self, planned: PlannedStep, want: list[str], index: int, allowed: int, total: int
    ) -> set[str]:
        """Run ``planned`` on ``want``; return the hosts it failed on (tolerated ones)."""
        runner, run = self.walk.runner, self.run_state
        again = self.walk.states.get(planned.id) is S.SUCCEEDED
        remaining = max(allowed - self.failures, 0)
        only = _restricted(planned, want, remaining, again=again)
        before = len(runner.journal.host_results(run.run_id, planned.id))
        try:
            runner.hooks.run(self.walk.stepper, only, run, index, len(runner.env.plan.steps))
        except StepFailed as exc:
            why = (
                f"{exc.reason} (node-first section {self.info.id}: "
                f"{self.failures} host(s) had failed before; "
                f"max_failures={self.rollout.max_failures} tolerates {allowed} of {total})"
            )
            raise StepFailed(
                exc.step, why, exit_code=exc.exit_code, output_tail=exc.output_tail
            ) from None
        finally:
            run.completed[:] = list(dict.fromkeys(run.completed))  # once each, for rollback
        self.walk.states[planned.id] = S.SUCCEEDED
        new = runner.journal.host_results(run.run_id, planned.id)[before:]
        latest = {r.host: r.ok for r in new}
        return {h for h in want if latest.get(h) is False}

    def _tolerated(self, planned: PlannedStep, failed: set[str], allowed: int) -> None:
        """A host failed within ``max_failures``: its section stops; undo it there if asked."""
        runner = self.walk.runner
        shown = ", ".join(sorted(failed))
        runner.emit(
            Notice(
                f"{planned.id} failed on {shown}: node-first section {self.info.id} stops "
                f"there on {shown} ({self.failures} of {allowed} failed host(s) tolerated); "
                "the other hosts go on",
                planned.id,
            )
        )
        if not planned.undo_on_failure:
            return
        done = [p for _, p in self.members]
        done = done[: done.index(planned) + 1]
        for step in reversed(done):
            if step.undo is not None:
                self._undo_on(step, sorted(failed))

    def _undo_on(self, forward: PlannedStep, hosts: list[str]) -> None:
        """Undo ``forward`` on ``hosts`` only (host records, no step transition: the
        step stays in place on the other hosts, and resume re-runs it on these)."""
        runner, run = self.walk.runner, self.run_state
        plan = runner.env.plan
        assert forward.undo is not None
        undo = replace(_restricted(plan.get(forward.undo), hosts, None), undo_of=forward.id)
        try:
            undo = host_outputs.bound(undo, plan.params, run)
        except TemplateError as exc:
            runner.emit(
                Compensated(forward.id, forward.undo, S.COMPENSATION_FAILED.value, str(exc))
            )
            return
        result = runner.execute(undo, runner.env, run)
        status = S.COMPENSATED if result.ok else S.COMPENSATION_FAILED
        reason = runner.redactor.text(result.reason)
        runner.emit(Compensated(forward.id, forward.undo, status.value, reason))
        for host in hosts:
            self.placed[forward.id].discard(host)

    def _marked_hosts(self, planned: PlannedStep, want: list[str]) -> None:
        """The in-flight step was confirmed done by a person: its unfinished hosts count."""
        runner, run = self.walk.runner, self.run_state
        finished = {r.host for r in runner.journal.host_results(run.run_id, planned.id)}
        for host in want:
            if host not in finished:
                runner.journal.record_host(
                    HostRecord(
                        run.run_id,
                        planned.id,
                        host,
                        True,
                        None,
                        None,
                        "confirmed completed on resume",
                        "",
                        runner.env.clock.wall(),
                    )
                )
                self.placed[planned.id].add(host)
        self.walk.states[planned.id] = S.SUCCEEDED

    def _pause(self, number: int) -> None:
        """Between batches: the section's timed wait (injected clock) or a question."""
        runner, pause = self.walk.runner, self.rollout.pause
        if pause is None:
            return
        if pause is not True:
            note = f"{self.info.id}: batch {number} done; waiting {human(pause)} before the next"
            runner.emit(Notice(note, self.info.id))
            runner.env.waits.sleep(float(pause))
            return
        gate = f"{self.info.id}:batch{number}"
        answer = runner.questions.ask(
            GateRequest(
                step_id=gate,
                kind="confirm",
                title=f"{self.info.title}: batch {number} done",
                prompt=f"Node-first section {self.info.id}: batch {number} went through "
                "the whole section. Continue with the next batch?",
            ),
            self.run_state,
        )
        if not answer.approved:
            raise GateStopped(
                gate, f"the roll-out of {self.info.id} was stopped after batch {number}"
            )


def _restricted(
    planned: PlannedStep, hosts: list[str], remaining: int | None, *, again: bool = False
) -> PlannedStep:
    """``planned`` on ``hosts`` only, all at once (bounded by its ``workers``), tolerating
    ``remaining`` more failed hosts (``None``: an undo, best effort anyway).

    ``again`` marks a step that already succeeded on an earlier batch: its records
    carry the journal's ``again`` mark, as a ``rerun_on_resume`` probe's do.
    """
    spec = replace(
        planned.spec,
        hosts=",".join(hosts),
        role="",
        strategy="parallel",
        batch_size=max(len(hosts), 1),
        max_failures="100%" if remaining is None else remaining,
        canary=False,
        pause_between_batches=False,
        pause_seconds=None,
    )
    return replace(planned, spec=spec, rerun_on_resume=planned.rerun_on_resume or again)


def _marked_done(transitions: list[Transition]) -> set[str]:
    """Steps whose latest record is ``--mark-done``: done on every host, by a person.

    Not the answer "mark done" to an in-flight step on resume: that one is recorded
    per host (``_marked_hosts``), for the hosts that were in flight only.
    """
    latest = {t.step_id: t for t in transitions}
    return {
        s
        for s, t in latest.items()
        if t.status is S.SUCCEEDED
        and t.detail.get("mark_done")
        and (t.reason or "").startswith("marked done by hand")
    }
