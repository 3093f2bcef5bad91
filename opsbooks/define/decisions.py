"""Steps that decide: a ``Gate`` (a person confirms, answers or chooses) and a ``Branch``.

Kept apart from the command kinds because their growth (answers, routes,
expressions) is about decisions, not about running things.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from opsbooks.define.base import Step, text
from opsbooks.define.policies import seconds
from opsbooks.define.specs import Binding, BranchSpec, GateSpec
from opsbooks.define.template import bind

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
        return Binding(text=text(self.prompt, values), spec=spec)

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
