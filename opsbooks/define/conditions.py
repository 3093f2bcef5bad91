"""``when=`` conditions: the small expression language steps are guarded by."""

from __future__ import annotations

import re

_WHEN = re.compile(r"^\s*(not\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:(==|!=)\s*(.+?))?\s*$")


def parse_when(expr: str) -> tuple[bool, str, str | None, str | None]:
    """Split ``"[not] name [== literal]"`` into (negate, name, operator, literal)."""
    match = _WHEN.match(expr)
    if not match:
        raise ValueError(f"cannot read when={expr!r}; write 'name', 'not name', or 'name == value'")
    negate, name, op, literal = match.groups()
    if literal is not None:
        literal = literal.strip().strip("'\"")
    return bool(negate), name, op, literal
