"""Steps that decide: a ``Gate`` (a person confirms, answers or chooses) and a ``Branch``.

Kept apart from the command kinds because their growth (answers, routes,
expressions) is about decisions, not about running things.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from opsbooks.define.base import Step, text
from opsbooks.define.evaluate import Scope, known
from opsbooks.define.expressions import ExpressionError, parse
from opsbooks.define.policies import seconds
from opsbooks.define.specs import Binding, BranchSpec, GateSpec
from opsbooks.define.template import bind

GateMode = Literal["confirm", "ask", "choose"]
#: the attribute a ``Branch`` keeps its malformed ``cases`` entries in, for the checks
BAD_CASES = "_opsbooks_bad_cases"


@dataclass(frozen=True)
class Gate(Step):
    """A person confirms, answers a typed question, or chooses; the answer is recorded.

    ``phrase`` makes a confirmation demand a typed phrase (a template, e.g.
    ``"{environment}"``) instead of ``y``. ``answer_type`` makes it an *ask*;
    ``choices`` makes it a *choose*. ``gate_timeout`` with ``on_timeout="default"``
    continues with ``default`` when nobody answers in time. ``secret=True``, as in
    ``Gate.ask("Paste the token", secret=True)``, asks without echo; later steps get
    the answer as a ``SecretStr``; it is redacted everywhere, never stored, and asked
    again on resume. ``on_decline="skip"`` makes a confirmation optional: a "no" is
    recorded as the answer ``False`` and the run goes on without the optional part (the
    rest of the gate's section, and steps with ``when="GATE_ID"``). ``yes_default=True``
    lets ``--yes`` answer an ask or a choose with its ``default``. ``approvers="role"``
    (with ``quorum=2``, ``four_eyes=True``) makes a confirmation wait for signed
    approvals (``opsbooks approve RUN GATE``) from that role's members, never the starter.
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
    #: "skip": a "no" is a recorded answer (False) and the run goes on; "stop" stops it
    on_decline: Literal["stop", "skip"] = field(default="stop", kw_only=True)
    #: an ask or a choose that ``--yes`` answers with ``default``
    yes_default: bool = field(default=False, kw_only=True)
    #: a role in ``[tool.opsbooks.approvals]``: the gate needs signed approvals from it
    approvers: str | None = field(default=None, kw_only=True)
    #: how many distinct approvers must sign (``approvers`` only)
    quorum: int = field(default=1, kw_only=True)
    #: no approver may be the person who started the run (default: on with ``approvers``)
    four_eyes: bool | None = field(default=None, kw_only=True)

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
            on_decline=self.on_decline,
            yes_default=self.yes_default,
            approvers=self.approvers,
            quorum=self.quorum,
            four_eyes=self.four_eyes is not False,
        )
        return Binding(text=text(self.prompt, values), spec=spec)

    def shape(self) -> dict[str, Any]:
        shape = [self.mode, list(self.choices), repr(self.answer_type), self.pattern]
        shape += ["secret"] if self.secret else []
        shape += [f"on_decline={self.on_decline}"] if self.on_decline != "stop" else []
        shape += ["yes_default"] if self.yes_default else []
        if self.approvers:  # only when set, so older gates' fingerprints still match
            shape += [f"approvers={self.approvers}", f"quorum={self.quorum}"]
            shape += [] if self.four_eyes is not False else ["no four_eyes"]
        return {"gate": shape}

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
    """Route to a later step by a value, or by the first expression that holds.

    ``Branch(on="pick", routes={"a": "step_a"})`` matches a param's value or an earlier
    gate's answer. ``Branch(cases=[("error_rate > 5", "rollback"), ("error_rate > 1",
    "watch")], default="carry_on")`` tries each expression (``opsbooks.define.expressions``)
    in order and goes to the first that holds; when none does it goes to ``default``,
    or on to the next step.
    """

    kind: ClassVar[str] = "branch"

    on: str = ""
    routes: Mapping[str, str] = field(default_factory=dict)
    default: str | None = field(default=None, kw_only=True)
    cases: Sequence[tuple[str, str]] | Mapping[str, str] = field(default=(), kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        pairs = list(self.cases.items() if isinstance(self.cases, Mapping) else self.cases)
        good = [p for p in pairs if isinstance(p, tuple | list) and len(p) == 2]
        object.__setattr__(self, "cases", tuple((str(e), str(t)) for e, t in good))
        # kept for the definition check, which names the runbook and the step
        object.__setattr__(self, BAD_CASES, tuple(p for p in pairs if p not in good))

    @property
    def case_pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.cases.items()) if isinstance(self.cases, Mapping) else tuple(self.cases)

    def targets(self) -> list[str]:
        cased = [target for _, target in self.case_pairs]
        return list(self.routes.values()) + cased + ([self.default] if self.default else [])

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        if self.case_pairs:
            return self._bind_cases(values)
        routes = ", ".join(f"{k} -> {v}" for k, v in self.routes.items())
        otherwise = f"; otherwise -> {self.default}" if self.default else ""
        spec = BranchSpec(on=self.on, routes=dict(self.routes), default=self.default)
        return Binding(text=f"on {self.on}: {routes}{otherwise}", spec=spec)

    def _bind_cases(self, values: Mapping[str, Any]) -> Binding:
        pairs = self.case_pairs
        listed = "; ".join(f"({expr}) -> {target}" for expr, target in pairs)
        otherwise = f"otherwise -> {self.default or 'the next step'}"
        spec = BranchSpec(
            default=self.default, cases=pairs, decided=decided(pairs, self.default, values)
        )
        return Binding(text=f"first that holds: {listed}; {otherwise}", spec=spec)

    def shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {"routes": dict(self.routes), "default": self.default}
        if self.case_pairs:  # only when set, so older branches' fingerprints still match
            shape["cases"] = [list(pair) for pair in self.case_pairs]
        return shape


def decided(
    pairs: Sequence[tuple[str, str]], default: str | None, values: Mapping[str, Any]
) -> str | None:
    """Which case the params alone decide, for the dry run; None when it needs answers
    or outputs (or no params were given)."""
    scope = Scope(params=values, partial=True)
    for expr, target in pairs:
        try:
            held = known(parse(expr), scope)
        except ExpressionError:
            return None
        if held is None:
            return None
        if held:
            return f"{expr} holds -> {target}"
    return f"no case holds -> {default or 'the next step'}"
