"""The step kinds that do or check something: what a runbook declares, never executed here.

``Step`` (the base) lives in ``define.base``; ``Gate`` and ``Branch`` in
``define.decisions``; all are re-exported here, where users and the rest of the
library have always found them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from opsbooks.define.base import (
    Check,
    Condition,
    OnFailure,
    Step,
    argv_or_shell,
    bind_command,
    bind_env,
    check_binding,
    text,
)
from opsbooks.define.decisions import Branch, Gate, GateMode
from opsbooks.define.policies import Poll, Retry
from opsbooks.define.specs import (
    Binding,
    CheckSpec,
    CommandStepSpec,
    NoSpec,
    NotifySpec,
    PythonSpec,
)
from opsbooks.define.template import bind

if TYPE_CHECKING:
    from opsbooks.define.context import StepContext

__all__ = [
    "Branch",
    "Check",
    "Command",
    "Condition",
    "Gate",
    "GateMode",
    "Manual",
    "Notify",
    "PythonStep",
    "Step",
    "Verify",
    "WaitUntil",
    "bind_command",
    "bind_env",
    "step",
    "undo_id",
]


@dataclass(frozen=True)
class Command(Step):
    """Run a command on this machine. A string runs in ``sh``; a list runs as argv."""

    kind: ClassVar[str] = "command"

    command: str | Sequence[str]
    cwd: str | None = field(default=None, kw_only=True)
    env: Mapping[str, str] = field(default_factory=dict, kw_only=True)
    stdin: str | None = field(default=None, kw_only=True)
    ok_codes: tuple[int, ...] = field(default=(0,), kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.command, str):
            object.__setattr__(self, "command", tuple(self.command))

    def templates(self) -> list[str]:
        extra = [self.cwd] if self.cwd else []
        return argv_or_shell(self.command) + extra + list(self.env.values())

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        spec = CommandStepSpec(
            # plain text: the backend shell-quotes the directory it changes into
            cwd=None if self.cwd is None else bind(self.cwd, values, shell=False).text,
            env=bind_env(self.env, values),
            stdin=self.stdin,
            ok_codes=tuple(self.ok_codes),
        )
        return Binding(command=bind_command(self.command, values), spec=spec)


@dataclass(frozen=True)
class Manual(Step):
    """Instructions a person carries out; the run waits until they say it is done.

    Give the same attribute a ``Command`` later to automate it without changing its id.
    """

    kind: ClassVar[str] = "manual"
    automated: ClassVar[bool] = False

    instructions: str

    def templates(self) -> list[str]:
        return [self.instructions]

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        return Binding(text=text(self.instructions, values), spec=NoSpec())


@dataclass(frozen=True)
class WaitUntil(Step):
    """Poll a check (a command that exits 0, or a callable) until it holds or time runs out."""

    kind: ClassVar[str] = "wait"

    check: Check
    poll: Poll = field(default_factory=Poll, kw_only=True)
    env: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def templates(self) -> list[str]:
        found = [] if callable(self.check) else argv_or_shell(self.check)
        return found + list(self.env.values())

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        call = self.check if callable(self.check) else None
        spec = CheckSpec(call=call, poll=self.poll, env=bind_env(self.env, values))
        return Binding(command=check_binding(self.check, values), spec=spec)


@dataclass(frozen=True)
class Verify(Step):
    """Check that something holds; the run fails if it does not."""

    kind: ClassVar[str] = "verify"

    check: Check
    expect: str = field(default="", kw_only=True)
    env: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def templates(self) -> list[str]:
        found = [] if callable(self.check) else argv_or_shell(self.check)
        return found + ([self.expect] if self.expect else []) + list(self.env.values())

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        expect = text(self.expect, values) if self.expect else ""
        call = self.check if callable(self.check) else None
        return Binding(
            command=check_binding(self.check, values),
            text=expect or None,
            spec=CheckSpec(call=call, expect=expect, env=bind_env(self.env, values)),
        )


@dataclass(frozen=True)
class Notify(Step):
    """Send a message to a configured channel (file, stdout or webhook)."""

    kind: ClassVar[str] = "notify"

    message: str
    channel: str = field(default="default", kw_only=True)

    def templates(self) -> list[str]:
        return [self.message]

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        return Binding(text=text(self.message, values), spec=NotifySpec(channel=self.channel))


StepFunction = Callable[[Any, "StepContext"], "str | None"]


@dataclass(frozen=True)
class PythonStep(Step):
    """A runbook method run as a step; made with the ``@step`` decorator."""

    kind: ClassVar[str] = "python"

    function: StepFunction = field(kw_only=True)

    def __call__(self, runbook: Any, ctx: StepContext) -> str | None:
        return self.function(runbook, ctx)

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        function, name = self.function, getattr(self.function, "__qualname__", self.id)
        return Binding(
            text=self.description or None,
            spec=PythonSpec(call=lambda ctx: function(runbook, ctx), name=name),
        )


def step(
    *,
    title: str = "",
    undo: str | Step | None = None,
    retry: Retry | None = None,
    timeout: float | str | None = None,
    when: Condition | None = None,
    idempotent: bool = False,
    undo_on_failure: bool = False,
    note: str = "",
    tags: tuple[str, ...] | str = (),
    on_failure: OnFailure = "rollback",
    setup: bool = False,
    rerun_on_resume: bool = False,
    quiet: bool = False,
    irreversible: str = "",
    marks: tuple[str, ...] | str = (),
    outputs: tuple[str, ...] | str = (),
) -> Callable[[StepFunction], PythonStep]:
    """Turn a runbook method ``(self, ctx) -> str | None`` into a step.

    The docstring becomes the step's description; a returned string is its output.
    """

    def wrap(function: StepFunction) -> PythonStep:
        return PythonStep(
            title=title,
            description=(function.__doc__ or "").strip(),
            undo=undo,
            retry=retry,
            timeout=timeout,
            when=when,
            idempotent=idempotent,
            undo_on_failure=undo_on_failure,
            note=note,
            tags=(tags,) if isinstance(tags, str) else tuple(tags),
            on_failure=on_failure,
            setup=setup,
            rerun_on_resume=rerun_on_resume,
            quiet=quiet,
            irreversible=irreversible,
            marks=(marks,) if isinstance(marks, str) else tuple(marks),
            outputs=(outputs,) if isinstance(outputs, str) else tuple(outputs),
            function=function,
            id=function.__name__,
        )

    return wrap


def undo_id(step: Step) -> str | None:
    """The id of the compensation step ``step`` names, if any."""
    if step.undo is None:
        return None
    if isinstance(step.undo, str):
        return step.undo
    return step.undo.id or f"undo_{step.id}"
