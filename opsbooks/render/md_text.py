"""Markdown text helpers: parameter tables, escaping, tables, quotes and fences.

Generic, so the runbook page, the catalog index and reports format text the same way.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, SecretStr


def parameter_rows(model: type[BaseModel]) -> list[list[str]]:
    """One table row per parameter; a secret shows as ``secret``, never its value."""
    rows = []
    for name, info in model.model_fields.items():
        secret = "SecretStr" in repr(info.annotation)
        if info.is_required():
            default = ""
        elif secret:
            default = "(secret)"
        elif info.default_factory in (list, tuple, dict, set, frozenset):
            default = "(empty)"
        elif info.default_factory is not None:
            default = "(computed)"
        elif info.default == "":
            default = "(empty)"
        else:
            default = f"`{_value(info.default)}`"
        rows.append(
            [
                f"`{name}`",
                type_name(info.annotation),
                default,
                "yes" if info.is_required() else "no",
                info.description or "",
            ]
        )
    return rows


def type_name(annotation: Any) -> str:
    """Name a parameter's type the way an operator reads it."""
    if annotation is SecretStr:
        return "secret"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{_value(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        named = [type_name(a) for a in args if a is not type(None)]
        optional = " (optional)" if type(None) in args else ""
        return " or ".join(named) + optional
    if origin in (list, tuple, set, frozenset, Sequence):
        return f"list of {type_name(args[0])}" if args else "list"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(f"`{_value(m)}`" for m in annotation)
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\btyping\.", "", repr(annotation))


def _value(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return str(value)


def cell(text: str) -> str:
    """Make text safe inside a Markdown table cell: escape pipes, keep line breaks."""
    flat = prose(text.strip()).replace("\r\n", "\n").replace("\n", "<br>")
    return flat.replace("\\|", "|").replace("|", "\\|")


_CODE = re.compile(r"(`+)(?:.|\n)*?\1")
_TAG_OPEN = re.compile(r"<(?![a-zA-Z][a-zA-Z0-9+.-]*:[^\s>]*>)")


def prose(text: str) -> str:
    """Escape ``<`` outside code so ``<version>`` shows instead of vanishing as HTML.

    Code spans, fenced code and autolinks such as ``<https://...>`` are left alone.
    """
    out, last = [], 0
    for match in _CODE.finditer(text):
        out.append(_TAG_OPEN.sub("&lt;", text[last : match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_TAG_OPEN.sub("&lt;", text[last:]))
    return "".join(out)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def block(text: str, *, quote: bool = False) -> str:
    """Dedent a docstring-like text; as a quote, prefix every line with ``>``."""
    clean = prose(inspect.cleandoc(text))
    if not quote:
        return clean
    return "\n".join(f"> {line}".rstrip() for line in clean.splitlines())


def fence(text: str, language: str) -> str:
    """Fence code with more backticks than it contains, so no command breaks the page."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"
