"""Call step hooks around one forward step: before, around (with ``proceed``), after.

Hooks nest in order, the first outermost: for hooks ``A, B`` a step runs as
``A.before, A.around(-> B.before, B.around(-> the step), B.after), A.after``. A hook sees
a frozen ``StepView`` and a ``StepContext``; it can time a step or skip it (``Skip``),
never change it. A hook that raises fails the step, naming the hook: before the step
ran, the step is journaled failed and not run; after, the run fails all the same. Either
way the runner rolls back as for any failure. Undo steps run without hooks: a rollback
must not be stopped or skipped by the code it may be undoing after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from opsbooks.define.context import StepContext
from opsbooks.define.hooks import Skip, StepOutcome, StepView
from opsbooks.errors import StepFailed
from opsbooks.plan.binding import PlannedStep
from opsbooks.plan.optional import section_of
from opsbooks.plan.state import StepStatus
from opsbooks.records.events import Event, Notice, StepFinished, StepStarted
from opsbooks.run.execute import step_context
from opsbooks.run.optional import declined_part
from opsbooks.run.state import RunState

if TYPE_CHECKING:
    from opsbooks.run.stepping import StepRunner

S = StepStatus
HostsOf = Callable[[PlannedStep], tuple[str, ...]]


@dataclass(frozen=True)
class NamedHook:
    """One hook object's methods (bound, called without ``self``), and how to name it."""

    name: str
    methods: Mapping[str, Callable[..., Any]]
    #: an included runbook's own hooks: only around the steps of the section it became
    section: str = ""

    def covers(self, step_id: str) -> bool:
        return not self.section or step_id.startswith(self.section + ".")


@dataclass(frozen=True)
class StepHooks:
    """The hooks of one run, built by the composition root; empty: steps run bare."""

    hooks: tuple[NamedHook, ...] = ()
    hosts_of: HostsOf = field(default=lambda planned: (), compare=False)

    def run(
        self, stepper: StepRunner, planned: PlannedStep, run: RunState, index: int, total: int
    ) -> str | None:
        """Run ``planned`` through ``stepper`` inside the hooks; return its branch route.

        A step of a declined optional part is not due: it is skipped before any hook.
        """
        declined = declined_part(planned, stepper.env.plan, run)
        if declined is not None:
            stepper.skip(planned, run, declined)
            return None
        mine = tuple(hook for hook in self.hooks if hook.covers(planned.id))
        if not mine:
            return stepper.run(planned, run, index, total)
        call = _Call(replace(self, hooks=mine), stepper, planned, run, index, total)
        return call.start()

    def names(self) -> list[str]:
        return [hook.name for hook in self.hooks]


class _HookError(Exception):
    """A hook raised or broke the protocol; ``message`` names it for the operator."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class _Call:
    """One step's trip through the hooks: the step runs at most once, innermost."""

    def __init__(
        self,
        hooks: StepHooks,
        stepper: StepRunner,
        planned: PlannedStep,
        run: RunState,
        index: int,
        total: int,
    ) -> None:
        self.hooks, self.planned, self.run_state = hooks, planned, run
        self.index, self.total = index, total
        self.stepper = replace(stepper, emit=self._tap)
        self.emit = stepper.emit
        self.ctx: StepContext = step_context(planned, stepper.env, run)
        self.view = StepView(
            id=planned.id,
            kind=planned.kind,
            title=planned.title,
            tags=tuple(getattr(planned, "tags", ()) or ()),
            section=section_of(planned.id, stepper.env.plan),
            hosts=hooks.hosts_of(planned),
            command=None if planned.shown is None else stepper.redactor.text(planned.shown),
        )
        self.ran = False
        self.route: str | None = None
        self.finished: StepFinished | None = None
        self.failure: StepFailed | None = None
        self.control: BaseException | None = None  # a stop or an interrupt inside the step
        self.skipped: str | None = None

    def start(self) -> str | None:
        try:
            self._layer(0)
        except _HookError as exc:
            self._hook_failed(exc.message)
        if self.control is not None:
            raise self.control
        if self.failure is not None:
            raise self.failure
        if self.skipped is not None and not self.ran:
            self.stepper.skip(self.planned, self.run_state, self.skipped)
        return self.route

    def _tap(self, event: Event) -> None:
        if isinstance(event, StepFinished) and event.step == self.planned.id:
            self.finished = event
        self.emit(event)

    def _layer(self, depth: int) -> StepOutcome:
        if depth == len(self.hooks.hooks):
            return self._step()
        hook = self.hooks.hooks[depth]
        skip = self._before(hook)
        outcome = self._skip(hook, skip) if skip is not None else self._around(hook, depth)
        after = hook.methods.get("after_step")
        if after is not None:
            self._call(hook, "after_step", after, self.ctx, self.view, outcome)
        return outcome

    def _before(self, hook: NamedHook) -> Skip | None:
        before = hook.methods.get("before_step")
        if before is None:
            return None
        said = self._call(hook, "before_step", before, self.ctx, self.view)
        if said is None or isinstance(said, Skip):
            return said
        raise _HookError(
            f"hook {hook.name}.before_step returned {type(said).__name__}; "
            f"return None to run step {self.planned.id!r} or ob.Skip(reason) to skip it"
        )

    def _around(self, hook: NamedHook, depth: int) -> StepOutcome:
        around = hook.methods.get("around_step")
        if around is None:
            return self._layer(depth + 1)
        inner: list[StepOutcome] = []

        def proceed() -> StepOutcome:
            if not inner:  # a second call returns the first outcome: the step runs once
                inner.append(self._layer(depth + 1))
            return inner[0]

        said = self._call(hook, "around_step", around, self.ctx, self.view, proceed)
        if inner:
            return inner[0]
        if isinstance(said, Skip):
            return self._skip(hook, said)
        raise _HookError(
            f"hook {hook.name}.around_step neither called proceed() nor returned "
            f"ob.Skip(reason), so step {self.planned.id!r} was not run"
        )

    def _call(self, hook: NamedHook, method: str, func: Callable[..., Any], *args: Any) -> Any:
        try:
            return func(*args)
        except _HookError:
            raise
        except Exception as exc:
            if exc is self.control or exc is self.failure:
                raise  # the step's own stop or failure, passing through the hook
            ran = "after it ran" if self.ran else "so it was not run"
            raise _HookError(
                f"hook {hook.name}.{method} raised {type(exc).__name__}: {exc} "
                f"(step {self.planned.id!r}, {ran}); fix or remove the hook, then resume"
            ) from None

    def _skip(self, hook: NamedHook, said: Skip) -> StepOutcome:
        self.skipped = f"{said.reason} (hook {hook.name})"
        return StepOutcome(status=S.SKIPPED.value, reason=self.skipped)

    def _step(self) -> StepOutcome:
        self.ran = True
        try:
            self.route = self.stepper.run(self.planned, self.run_state, self.index, self.total)
        except StepFailed as exc:
            self.failure = exc
        except BaseException as exc:  # a gate stop, an interrupt: after the hooks, re-raised
            self.control = exc
            raise
        done = self.finished
        if done is None:
            return StepOutcome(status=S.FAILED.value if self.failure else S.SUCCEEDED.value)
        return StepOutcome(done.status, done.duration, done.exit_code, done.reason)

    def _hook_failed(self, message: str) -> None:
        """Fail the step for a hook's error: journaled as its reason, the run fails."""
        reason = self.stepper.redactor.text(message)
        if self.control is not None or self.failure is not None:
            self.emit(Notice(reason, self.planned.id))
            return
        if not self.ran:
            planned, clock = self.planned, self.stepper.env.clock
            journal, run_id = self.stepper.journal, self.run_state.run_id
            journal.record(run_id, planned.id, S.RUNNING, at=clock.wall(), attempt=1)
            journal.record(run_id, planned.id, S.FAILED, at=clock.wall(), reason=reason)
            self.emit(
                StepStarted(
                    planned.id,
                    planned.kind,
                    planned.title,
                    self.index,
                    self.total,
                    None,  # its command never started: no `$ command` line
                )
            )
            self.emit(StepFinished(planned.id, S.FAILED.value, 0.0, reason=reason))
        else:  # the step itself succeeded (its `-> ok` is shown): say why the run fails
            self.emit(Notice(reason, self.planned.id))
        self.failure = StepFailed(self.planned.id, reason)
