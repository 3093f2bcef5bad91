"""Command and text templates over runbook parameters.

A template is ``str.format`` syntax: ``"git tag -a v{version} -m {message}"``. In a
shell command every bound value is shell-quoted, so a value reaches the command as
one argument, never as code. Fields that are not bound stay as ``{field}``, which is
how docs show a command before anyone has chosen values.
"""

from __future__ import annotations

import enum
import shlex
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from opsbooks.define.params import REDACTED

_FORMATTER = string.Formatter()


class TemplateError(ValueError):
    """A template cannot be parsed or uses a value the wrong way."""


def fields(template: str) -> list[str]:
    """Return the field names in ``template`` in order (``host.name`` stays dotted)."""
    try:
        return [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
    except ValueError as exc:
        raise TemplateError(f"cannot parse template {template!r}: {exc}") from None


def roots(template: str) -> set[str]:
    """Return the first component of each field (``host`` for ``{host.name}``)."""
    found = set()
    for name in fields(template):
        if not name or name.isdigit():
            raise TemplateError(
                f"template {template!r} has a positional field {{{name}}}; name a parameter"
            )
        found.add(name.split(".")[0].split("[")[0])
    return found


def quoted_fields(template: str) -> list[str]:
    """Return fields that sit inside shell quotes, where opsbooks' own quoting would break."""
    inside: list[str] = []
    quote: str | None = None
    for literal, name, _, _ in _FORMATTER.parse(template):
        for char in literal:
            if quote is None and char in "'\"":
                quote = char
            elif quote is not None and char == quote:
                quote = None
        if name is not None and quote is not None:
            inside.append(name)
    return inside


@dataclass(frozen=True)
class Bound:
    """A bound template: ``text`` is what runs, ``shown`` is safe to print."""

    text: str
    shown: str


def bind(template: str, values: Mapping[str, Any], *, shell: bool) -> Bound:
    """Fill the fields whose root is in ``values``; leave the others as written."""
    real: list[str] = []
    shown: list[str] = []
    for literal, name, spec, conversion in _FORMATTER.parse(template):
        real.append(literal)
        shown.append(literal)
        if name is None:
            continue
        root = name.split(".")[0]
        if root not in values:
            placeholder = "{" + name + (f"!{conversion}" if conversion else "")
            placeholder += (f":{spec}" if spec else "") + "}"
            real.append(placeholder)
            shown.append(placeholder)
            continue
        value = _lookup(values, name)
        real.append(_render(value, spec or "", shell=shell, reveal=True))
        shown.append(_render(value, spec or "", shell=shell, reveal=False))
    return Bound("".join(real), "".join(shown))


def join_argv(argv: Sequence[str], values: Mapping[str, Any]) -> Bound:
    """Bind each argv element as plain text, then quote each element as one word."""
    parts = [bind(arg, values, shell=False) for arg in argv]
    if any("\x00" in p.text for p in parts):
        raise TemplateError("a parameter value contains a NUL byte, which no command can pass")
    return Bound(
        shlex.join(p.text for p in parts),
        shlex.join(p.shown for p in parts),
    )


def _lookup(values: Mapping[str, Any], name: str) -> Any:
    root, *rest = name.split(".")
    value = values[root]
    for attr in rest:
        value = value[attr] if isinstance(value, Mapping) else getattr(value, attr)
    return value


def _plain(value: Any, *, reveal: bool) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value() if reveal else REDACTED
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _render(value: Any, spec: str, *, shell: bool, reveal: bool) -> str:
    items: Iterable[Any] = value if isinstance(value, list | tuple | set | frozenset) else [value]
    words = [format(_plain(item, reveal=reveal), spec) for item in items]
    if not shell:
        return " ".join(words) if len(words) != 1 else words[0]
    for word in words:
        if "\x00" in word:
            raise TemplateError("a parameter value contains a NUL byte, which no shell can pass")
    return " ".join(shlex.quote(word) for word in words)
