"""Evaluate a parsed expression (``opsbooks.define.expressions``) against a run's values.

Pure. Comparison rules, in order, so that ``error_rate > 5`` works on an output (always
text) and ``version >= "1.10.0"`` works on versions:

1. both sides are text that looks like a dotted version (``1.9``, ``v1.10.0``): compare
   as versions, number by number (``1.9 < 1.10``; missing parts count as 0);
2. both sides are numbers, or text that reads as one (``"7.5"``): compare as numbers;
3. otherwise ``==``/``!=`` compare the text the value reads as (``true``/``false`` for a
   boolean, an enum's value), and ordering is an ``ExpressionError``.

A bare name is true by Python truthiness (an empty or missing value is false), as
``when=`` always read. With ``partial`` scopes (the dry run, before anything ran) a
name that is not a parameter is *unknown*, and so is anything that depends on it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from opsbooks.define.expressions import (
    ExpressionError,
    ListOf,
    Literal,
    Logic,
    Name,
    Node,
    Not,
    names,
)


class _Unknown:
    def __repr__(self) -> str:
        return "unknown"


UNKNOWN: Any = _Unknown()
_VERSION = re.compile(r"^v?(\d+(?:\.\d+)+)$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Scope:
    """What names mean: params, answers given so far, outputs published so far.

    ``gates`` are the runbook's gate ids (a bare name that is no param is a gate's
    answer). With ``partial``, answers and outputs are unknown rather than missing.
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    answers: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    partial: bool = False

    def value(self, name: Name) -> Any:
        if name.scope == "params" or (not name.scope and name.key in self.params):
            if name.key not in self.params:  # planning for docs: no values chosen yet
                return UNKNOWN if self.partial else None
            return self.params[name.key]
        if self.partial:
            return UNKNOWN
        if name.scope == "outputs":
            if name.key not in self.outputs:
                raise ExpressionError(
                    f"output {name.key!r} is not available: the step that publishes it did "
                    f"not run in this run (skipped, or before --start-at)"
                )
            return self.outputs[name.key]
        return self.answers.get(name.key)


def holds(node: Node, scope: Scope) -> bool:
    """Whether ``node`` is true for ``scope``; raises ``ExpressionError`` when it cannot say."""
    value = evaluate(node, scope)
    if value is UNKNOWN:
        raise ExpressionError("the expression depends on values not known yet")
    return truth(value)


def known(node: Node, scope: Scope) -> bool | None:
    """True or False when ``scope`` decides ``node``; None when it depends on the unknown."""
    value = evaluate(node, scope)
    return None if value is UNKNOWN else truth(value)


def evaluate(node: Node, scope: Scope) -> Any:
    """The value of ``node``: a param, answer or output's own value, or a boolean."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, ListOf):
        return [item.value for item in node.items]
    if isinstance(node, Name):
        return scope.value(node)
    if isinstance(node, Not):
        inner = evaluate(node.operand, scope)
        return UNKNOWN if inner is UNKNOWN else not truth(inner)
    if isinstance(node, Logic):
        return _logic(node, scope)
    left, right = evaluate(node.left, scope), evaluate(node.right, scope)
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    return compare(node.op, left, right)


def _logic(node: Logic, scope: Scope) -> Any:
    """Left to right with short-circuit; an unknown operand leaves the result unknown
    unless a later operand decides it (``false and unknown`` is false)."""
    decisive = node.op == "or"  # the operand value that decides the whole
    pending = False
    for operand in node.operands:
        value = evaluate(operand, scope)
        if value is UNKNOWN:
            pending = True
        elif truth(value) is decisive:
            return decisive
    return UNKNOWN if pending else not decisive


def truth(value: Any) -> bool:
    return bool(plain(value))


def compare(op: str, left: Any, right: Any) -> bool:
    """Apply a comparison operator under the rules in the module docstring."""
    if op in ("in", "not in"):
        return _contains(left, right) == (op == "in")
    if op in ("==", "!="):
        return equal(left, right) == (op == "==")
    ordered = _ordered(left, right)
    if ordered is None:
        raise ExpressionError(
            f"cannot order {shown(left)} and {shown(right)} with {op}: ordering needs "
            f"numbers or dotted versions on both sides"
        )
    a, b = ordered
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


def equal(left: Any, right: Any) -> bool:
    ordered = _ordered(left, right)
    if ordered is not None:
        return bool(ordered[0] == ordered[1])
    return key(left) == key(right)


def _contains(left: Any, right: Any) -> bool:
    container = plain(right)
    if isinstance(container, str):
        return key(left) in container
    if isinstance(container, list | tuple | set | frozenset):
        return any(equal(left, item) for item in container)
    raise ExpressionError(
        f"the right side of 'in' must be a list, a list parameter or text, got {shown(right)}"
    )


def _ordered(left: Any, right: Any) -> tuple[Any, Any] | None:
    """Both sides as versions, else as numbers, else None (not comparable by order)."""
    a, b = plain(left), plain(right)
    va, vb = _version(a), _version(b)
    if va is not None and vb is not None:
        width = max(len(va), len(vb))
        return va + (0,) * (width - len(va)), vb + (0,) * (width - len(vb))
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na, nb
    return None


def _version(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, str):
        return None
    match = _VERSION.match(value.strip())
    return None if match is None else tuple(int(p) for p in match.group(1).split("."))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def plain(value: Any) -> Any:
    """The value an expression compares: a secret's text, an enum's value."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def key(value: Any) -> str:
    """How a value reads as text (the same text ``Branch`` routes match)."""
    value = plain(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def shown(value: Any) -> str:
    """A value for a message: a secret is masked."""
    if isinstance(value, SecretStr):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(getattr(value, "value", value))


def described(node: Node, scope: Scope) -> str:
    """``name=value`` for each name in ``node`` (secrets masked), for a skip reason."""
    parts: dict[str, str] = {}
    for name in names(node):
        try:
            value = scope.value(name)
        except ExpressionError:
            parts[name.text] = "(not available)"
            continue
        parts[name.text] = _brief(value)
    return ", ".join(f"{k}={v}" for k, v in parts.items())


def _brief(value: Any) -> str:
    if isinstance(value, SecretStr):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def referenced(nodes: Iterable[Node]) -> list[Name]:
    return [name for node in nodes for name in names(node)]
