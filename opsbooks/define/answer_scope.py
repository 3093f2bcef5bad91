"""A step's ``{answers.ID}`` placeholders resolved like its ``when=``: nearest section first.

A step in a section may name a gate by its bare id (``{answers.approve}``), which is
looked up in the step's own section, then in each enclosing section, then at the top,
exactly as a bare id in ``when=`` is (``opsbooks.define.sections.lookup``). The
placeholder is rewritten to the gate's full id (``{answers.drain.approve}``) when the
runbook class is built, so the checks, the page, the plan and the runner (local and on
hosts) all read one unambiguous name, and a runbook that writes full ids (or has no
sections) is left exactly as it was: same page, same fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opsbooks.define.template import ANSWERS, rename_fields

#: attributes that are never templates: ids and references (resolved on their own),
#: the condition (resolved by ``sections``), names of outputs, and the prose
_NOT_TEMPLATES = frozenset(
    {"id", "undo", "when", "routes", "default", "on", "outputs", "description"}
)

#: ``sections.lookup``: a name as seen from a section, nearest definition first
Lookup = Callable[[str, str, set[str]], str]


def answer_renames(item: Any, section: str, gates: set[str], lookup: Lookup) -> dict[str, Any]:
    """The template attributes of ``item`` (in ``section``) whose ``{answers.ID}`` names a
    gate of ``gates`` by a bare id, rewritten to full ids (``{}`` when none does)."""

    def field(name: str) -> str:
        root, _, gate = name.partition(".")
        if root != ANSWERS or not gate or ("." in gate and gate in gates):
            return name  # not an answer, or already a full dotted id (as in when=)
        return f"{ANSWERS}.{lookup(gate, section, gates)}"

    changes: dict[str, Any] = {}
    for attr, value in vars(item).items():
        if attr in _NOT_TEMPLATES or attr.startswith("_"):
            continue
        renamed = _rename(value, field)
        if renamed is not value:
            changes[attr] = renamed
    return changes


def _rename(value: Any, field: Callable[[str], str]) -> Any:
    """``value`` with its templates' answers renamed; the same object when nothing changed."""
    if isinstance(value, str):
        new = rename_fields(value, field) if "{" in value else value
        return value if new == value else new
    if type(value) in (tuple, list):  # a plain sequence (argv), not a record
        items = [_rename(v, field) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, dict):
        pairs = {k: _rename(v, field) for k, v in value.items()}
        return value if all(pairs[k] is value[k] for k in value) else pairs
    return value
