"""The step-kind and placeholder reference, generated from the code so it cannot drift.

Every public step kind is a frozen dataclass; its fields are its keywords. This module
reads them (name, type as written, default) and each kind's docstring, and renders one
Markdown table per kind, plus the placeholders a template can name. ``scripts/
gen-reference.py`` writes the result between markers in ``docs/reference.md`` and
``--check`` fails (in ``make test``) when the file is stale.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Sequence
from typing import Any

from opsbooks.define.base import Step

BEGIN = "<!-- BEGIN GENERATED: step kinds (scripts/gen-reference.py) -->"
END = "<!-- END GENERATED: step kinds -->"
#: fields filled in by opsbooks, never written by a user
_INTERNAL = frozenset({"id"})


def public_kinds(root: type[Step] = Step) -> list[type[Step]]:
    """Every step class of the library under ``root``, base first, then by name."""
    found: dict[str, type[Step]] = {}
    pending: list[type[Step]] = [root]
    while pending:
        klass = pending.pop()
        if klass.__module__.startswith("opsbooks.") and not klass.__name__.startswith("_"):
            found.setdefault(klass.__qualname__, klass)
        pending.extend(klass.__subclasses__())
    rest = sorted((k for k in found.values() if k is not root), key=lambda k: k.__name__)
    return [root, *rest]


def render_reference(kinds: Sequence[type[Step]], placeholders: Iterable[tuple[str, str]]) -> str:
    """The generated Markdown: a table of keywords per kind, then the placeholders."""
    out = [
        BEGIN,
        "",
        "## Step kinds",
        "",
        "Every keyword of every step kind, with its type and default, read from the code.",
        "`Step` lists the keywords every kind accepts; each kind's table lists its own.",
        "",
    ]
    common = {f.name for f in dataclasses.fields(Step)}
    for kind in kinds:
        out.extend(_kind_section(kind, skip=set() if kind is Step else common))
    out.extend(["## Placeholders", "", "| Placeholder | Means |", "|---|---|"])
    out.extend(f"| `{form}` | {_cell(meaning)} |" for form, meaning in placeholders)
    out.extend(["", END])
    return "\n".join(out) + "\n"


def _kind_section(kind: type[Step], *, skip: set[str]) -> list[str]:
    name = kind.__name__
    label = getattr(kind, "kind", "")
    title = f"### `{name}`" + (f" (kind `{label}`)" if kind is not Step and label else "")
    lines = [title, "", _summary(kind), ""]
    rows = [f for f in dataclasses.fields(kind) if f.name not in skip | _INTERNAL]
    if not rows:
        lines.extend(["No keywords of its own.", ""])
        return lines
    lines.extend(["| Keyword | Type | Default |", "|---|---|---|"])
    for field in rows:
        kind_of = _cell(str(field.type))
        lines.append(f"| `{field.name}` | `{kind_of}` | {_default(field)} |")
    lines.append("")
    return lines


def _summary(kind: type[Any]) -> str:
    doc = inspect.cleandoc(kind.__doc__ or "")
    first = doc.split("\n\n", 1)[0].replace("\n", " ").strip()
    return first or "(no description)"


def _default(field: dataclasses.Field[Any]) -> str:
    if field.default is not dataclasses.MISSING:
        return f"`{field.default!r}`"
    if field.default_factory is not dataclasses.MISSING:
        try:
            return f"`{field.default_factory()!r}`"
        except TypeError:  # a factory that needs arguments: name it
            return f"`{getattr(field.default_factory, '__name__', 'factory')}()`"
    return "required"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def splice(document: str, generated: str) -> str:
    """``document`` with its generated block replaced (or inserted before the API section)."""
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        return head + generated.rstrip("\n") + tail
    anchor = "## Python API"
    if anchor in document:
        head, tail = document.split(anchor, 1)
        return head + generated + "\n" + anchor + tail
    return document.rstrip("\n") + "\n\n" + generated
