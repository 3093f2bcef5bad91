"""``when=`` conditions: the expression a step is guarded by (``opsbooks.define.expressions``).

``when="dry_run"``, ``when="not dry_run"`` and ``when="environment == prod"`` keep the
meaning they always had; any expression of the grammar works too, e.g.
``when="error_rate > 5 and answers.go_on"``.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from opsbooks.define.expressions import ExpressionError, Node, parse

_WHEN = re.compile(r"^\s*(not\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:(==|!=)\s*(.+?))?\s*$")


def parse_when(expr: str) -> tuple[bool, str, str | None, str | None]:
    """Split ``"[not] name [== literal]"`` into (negate, name, operator, literal).

    Only the simple form: kept for callers that read it; full expressions go through
    ``compile_when``.
    """
    match = _WHEN.match(expr)
    if not match:
        raise ValueError(f"cannot read when={expr!r}; write 'name', 'not name', or 'name == value'")
    negate, name, op, literal = match.groups()
    if literal is not None:
        literal = literal.strip().strip("'\"")
    return bool(negate), name, op, literal


def compile_when(expr: str, names: Collection[str]) -> Node:
    """Parse a condition; ``names`` (params and gate ids) decide what a bare word means.

    Raises ``ExpressionError`` (a ``ValueError``) with the reason it cannot be read.
    """
    return parse(expr, known=lambda word: word in names)


__all__ = ["ExpressionError", "compile_when", "is_simple", "parse_when"]


def is_simple(expr: str) -> bool:
    """Whether ``expr`` is the form ``when=`` had before expressions (``[not] name [== v]``).

    The dry run shows what the params decide only for other expressions, so the dry
    runs of existing runbooks read exactly as they did.
    """
    return _WHEN.match(expr) is not None
