"""Step records: what a runbook declares. Frozen, pure, never executed here.

A step's id is the attribute name it is assigned to, so inserting a step never
changes the id of another, and journals, resume and doc anchors stay valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from opsbooks.define.policies import Poll, Retry, seconds
from opsbooks.define.specs import (
    Binding,
    BranchSpec,
    CheckSpec,
    CommandStepSpec,
    GateSpec,
    NoSpec,
    NotifySpec,
    PythonSpec,
)
from opsbooks.define.template import Bound, bind, join_argv

if TYPE_CHECKING:
    from opsbooks.define.context import StepContext

Check = str | Sequence[str] | Callable[["StepContext"], bool]
Condition = str | Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True, kw_only=True)
class Step:
    """Fields every step has; ``id`` is filled in from the attribute name."""

    kind: ClassVar[str] = "step"
    automated: ClassVar[bool] = True

    title: str = ""
    description: str = ""
    undo: str | Step | None = None
    retry: Retry | None = None
    timeout: float | str | None = None
    when: Condition | None = None
    idempotent: bool = False
    undo_on_failure: bool = False
    outputs: tuple[str, ...] = ()
    id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.timeout is not None:
            object.__setattr__(self, "timeout", seconds(self.timeout))
        if isinstance(self.outputs, str):
            object.__setattr__(self, "outputs", (self.outputs,))
        else:
            object.__setattr__(self, "outputs", tuple(self.outputs))

    def __set_name__(self, owner: type, name: str) -> None:
        if not self.id:
            object.__setattr__(self, "id", name)

    @property
    def timeout_seconds(self) -> float | None:
        return None if self.timeout is None else float(self.timeout)

    @property
    def label(self) -> str:
        """Title for people: the given title, else the id in words."""
        return self.title or self.id.replace("_", " ").capitalize()

    def templates(self) -> list[str]:
        """Every template this step binds, for checking param names at definition time."""
        return []

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        """Bind this step's templates to ``values`` (unknown fields stay as placeholders).

        A new step kind overrides this to return its own frozen spec; the plan keeps
        only the binding, so nothing downstream reads the definition.
        """
        return Binding(spec=NoSpec())

    def shape(self) -> dict[str, Any]:
        """Kind-specific facts that change what the step does, for the plan's fingerprint."""
        return {}


def _argv_or_shell(command: str | Sequence[str]) -> list[str]:
    return [command] if isinstance(command, str) else list(command)


def bind_command(command: str | Sequence[str], values: Mapping[str, Any]) -> Bound:
    """A shell string binds with shell quoting; an argv list binds word by word."""
    if isinstance(command, str):
        return bind(command, values, shell=True)
    return join_argv(list(command), values)


def bind_env(env: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, str]:
    """Bind each environment value as plain text: the way to hand a secret to a command.

    The environment of a process is readable only by its user, unlike its argv.
    """
    return {name: bind(value, values, shell=False).text for name, value in env.items()}


def _text(template: str, values: Mapping[str, Any]) -> str:
    return bind(template, values, shell=False).shown


def _check_binding(check: Check, values: Mapping[str, Any]) -> Bound:
    if callable(check):
        name = getattr(check, "__qualname__", repr(check))
        return Bound(f"python: {name}", f"python: {name}")
    return bind_command(check, values)


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
        return _argv_or_shell(self.command) + extra + list(self.env.values())

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
        return Binding(text=_text(self.instructions, values), spec=NoSpec())


GateMode = Literal["confirm", "ask", "choose"]


@dataclass(frozen=True)
class Gate(Step):
    """A person confirms, answers a typed question, or chooses; the answer is recorded.

    ``phrase`` makes a confirmation demand a typed phrase (a template, e.g.
    ``"{environment}"``) instead of ``y``. ``answer_type`` makes it an *ask*;
    ``choices`` makes it a *choose*. ``gate_timeout`` with ``on_timeout="default"``
    continues with ``default`` when nobody answers in time. ``secret=True``, as in
    ``Gate.ask("Paste the token", secret=True)``, asks without echo; later steps get
    the answer as a ``SecretStr``; it is redacted everywhere, never stored, and asked
    again on resume.
    """

    kind: ClassVar[str] = "gate"
    automated: ClassVar[bool] = False

    prompt: str
    choices: tuple[str, ...] = field(default=(), kw_only=True)
    answer_type: type | None = field(default=None, kw_only=True)
    pattern: str | None = field(default=None, kw_only=True)
    phrase: str | None = field(default=None, kw_only=True)
    default: Any = field(default=None, kw_only=True)
    gate_timeout: float | str | None = field(default=None, kw_only=True)
    on_timeout: Literal["abort", "default"] = field(default="abort", kw_only=True)
    rollback_on_decline: bool = field(default=False, kw_only=True)
    secret: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "choices", tuple(self.choices))
        if self.gate_timeout is not None:
            object.__setattr__(self, "gate_timeout", seconds(self.gate_timeout))

    @property
    def mode(self) -> GateMode:
        if self.choices:
            return "choose"
        if self.answer_type is not None or self.pattern is not None or self.secret:
            return "ask"
        return "confirm"

    def templates(self) -> list[str]:
        return [self.prompt] + ([self.phrase] if self.phrase else [])

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        phrase = None if self.phrase is None else bind(self.phrase, values, shell=False).text
        spec = GateSpec(
            mode=self.mode,
            choices=tuple(self.choices),
            answer_type=self.answer_type,
            pattern=self.pattern,
            phrase=phrase,
            default=self.default,
            timeout=None if self.gate_timeout is None else float(self.gate_timeout),
            on_timeout=self.on_timeout,
            rollback_on_decline=self.rollback_on_decline,
            secret=self.secret,
        )
        return Binding(text=_text(self.prompt, values), spec=spec)

    def shape(self) -> dict[str, Any]:
        shape = [self.mode, list(self.choices), repr(self.answer_type), self.pattern]
        return {"gate": [*shape, "secret"] if self.secret else shape}

    @classmethod
    def confirm(cls, prompt: str, **kwargs: Any) -> Gate:
        return cls(prompt, **kwargs)

    @classmethod
    def ask(cls, prompt: str, answer_type: type = str, **kwargs: Any) -> Gate:
        return cls(prompt, answer_type=answer_type, **kwargs)

    @classmethod
    def choose(cls, prompt: str, choices: Sequence[str], **kwargs: Any) -> Gate:
        return cls(prompt, choices=tuple(choices), **kwargs)


@dataclass(frozen=True)
class WaitUntil(Step):
    """Poll a check (a command that exits 0, or a callable) until it holds or time runs out."""

    kind: ClassVar[str] = "wait"

    check: Check
    poll: Poll = field(default_factory=Poll, kw_only=True)
    env: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def templates(self) -> list[str]:
        found = [] if callable(self.check) else _argv_or_shell(self.check)
        return found + list(self.env.values())

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        call = self.check if callable(self.check) else None
        spec = CheckSpec(call=call, poll=self.poll, env=bind_env(self.env, values))
        return Binding(command=_check_binding(self.check, values), spec=spec)


@dataclass(frozen=True)
class Verify(Step):
    """Check that something holds; the run fails if it does not."""

    kind: ClassVar[str] = "verify"

    check: Check
    expect: str = field(default="", kw_only=True)
    env: Mapping[str, str] = field(default_factory=dict, kw_only=True)

    def templates(self) -> list[str]:
        found = [] if callable(self.check) else _argv_or_shell(self.check)
        return found + ([self.expect] if self.expect else []) + list(self.env.values())

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        expect = _text(self.expect, values) if self.expect else ""
        call = self.check if callable(self.check) else None
        return Binding(
            command=_check_binding(self.check, values),
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
        return Binding(text=_text(self.message, values), spec=NotifySpec(channel=self.channel))


@dataclass(frozen=True)
class Branch(Step):
    """Route to a later step by a parameter's value or an earlier gate's answer."""

    kind: ClassVar[str] = "branch"

    on: str
    routes: Mapping[str, str]
    default: str | None = field(default=None, kw_only=True)

    def targets(self) -> list[str]:
        return list(self.routes.values()) + ([self.default] if self.default else [])

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        routes = ", ".join(f"{k} -> {v}" for k, v in self.routes.items())
        otherwise = f"; otherwise -> {self.default}" if self.default else ""
        spec = BranchSpec(on=self.on, routes=dict(self.routes), default=self.default)
        return Binding(text=f"on {self.on}: {routes}{otherwise}", spec=spec)

    def shape(self) -> dict[str, Any]:
        return {"routes": dict(self.routes), "default": self.default}


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
