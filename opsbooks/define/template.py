"""Command and text templates over runbook parameters, outputs, answers and hosts.

A template names values in braces: ``"git tag -a v{version} -m {message}"``. In a
shell command every bound value is shell-quoted, so a value reaches the command as
one argument, never as code. Fields that are not bound stay as ``{field}``, which is
how docs show a command before anyone has chosen values.

One regex scanner reads every template, so shell braces never clash: only
``{name}``, ``{name.key}`` and deeper dotted names (identifiers, optionally followed by
a ``!r``/``!s`` conversion or a ``:>8``-style format spec) are placeholders. Anything else in
braces (``{ a; b; }``, awk's ``{print $1}``, ``find -exec rm {} +``) is text, as is a
brace right after ``$`` or ``#`` (``${HOME}``, tmux's ``#{pane_index}``). ``{{`` and
``}}`` write one brace.
"""

from __future__ import annotations

import enum
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from opsbooks.define.params import REDACTED

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
#: an escaped brace, or a placeholder (not right after ``$`` or ``#``)
#: a ``str.format`` spec, strictly (``>4``, ``08.2f``), so jq's ``{name: .x}`` is text
_SPEC = r"(?:[^{}\s]?[<>=^])?[+-]?#?0?\d*[,_]?(?:\.\d+)?[bcdeEfFgGnosxX%]?"
_SCAN = re.compile(
    r"(?P<open>\{\{)|(?P<close>\}\})"
    rf"|(?<![$#])\{{(?P<name>{_IDENT}(?:\.{_IDENT})*)"
    rf"(?:!(?P<conv>[rsa]))?(?::(?P<spec>{_SPEC}))?\}}"
)
#: looks meant as a placeholder but is not one: spaces inside, an empty or extra dot,
#: a missing closing brace (the checks name the fix when the word is a known name)
_NEAR = re.compile(
    r"(?<![$#{])\{(?:\s*(?P<word>[A-Za-z_][A-Za-z0-9_.]*)\s*\}"
    r"|(?P<open>[A-Za-z_][A-Za-z0-9_.]*)(?![A-Za-z0-9_.}!:]))"
)


class TemplateError(ValueError):
    """A template cannot be parsed or uses a value the wrong way."""


@dataclass(frozen=True)
class Field:
    """One placeholder: its dotted name, conversion and format spec, and its text."""

    name: str
    conversion: str
    spec: str
    raw: str

    @property
    def root(self) -> str:
        return self.name.split(".")[0]


def scan(template: str) -> Iterator[tuple[str, Field | None]]:
    """Split ``template`` into (literal text, field or None) pieces, escapes undone."""
    if not isinstance(template, str):
        raise TemplateError(f"a template must be text, got {type(template).__name__}")
    literal: list[str] = []
    at = 0
    for match in _SCAN.finditer(template):
        literal.append(template[at : match.start()])
        at = match.end()
        if match.group("open"):
            literal.append("{")
        elif match.group("close"):
            literal.append("}")
        else:
            found = Field(
                match.group("name"), match.group("conv") or "", match.group("spec") or "", match[0]
            )
            yield "".join(literal), found
            literal = []
    literal.append(template[at:])
    tail = "".join(literal)
    if tail:
        yield tail, None


def fields(template: str) -> list[str]:
    """Return the field names in ``template`` in order (``host.name`` stays dotted)."""
    if isinstance(template, str) and "{" not in template:  # no field; planning asks per step
        return []
    return [found.name for _, found in scan(template) if found is not None]


def roots(template: str) -> set[str]:
    """Return the first component of each field (``host`` for ``{host.name}``)."""
    return {found.root for _, found in scan(template) if found is not None}


def near_misses(template: str) -> list[tuple[str, str]]:
    """(text, dotted word) of brace groups that look like a mistyped placeholder.

    ``{ outputs.x }``, ``{outputs.}``, ``{outputs.x.y.z}`` or an unclosed ``{version``:
    the caller decides, from the names it knows, whether the word was meant as one.
    """
    exact = {m.start() for m in _SCAN.finditer(template) if m.group("name")}
    escaped = [m.span() for m in _SCAN.finditer(template) if not m.group("name")]
    found: list[tuple[str, str]] = []
    for match in _NEAR.finditer(template):
        if match.start() in exact or any(a <= match.start() < b for a, b in escaped):
            continue
        found.append((match[0], match.group("word") or match.group("open")))
    return found


def rename_fields(template: str, rename: Callable[[str], str]) -> str:
    """``template`` with each placeholder's name replaced by ``rename(name)``.

    Everything else (text, escaped braces, conversions, format specs) stays exactly
    as written, so a template whose names ``rename`` keeps comes back unchanged.
    """
    out: list[str] = []
    at = 0
    for match in _SCAN.finditer(template):
        name = match.group("name")
        if not name or rename(name) == name:
            continue
        start, end = match.span("name")
        out += [template[at:start], rename(name)]
        at = end
    return "".join(out) + template[at:] if out else template


def quoted_fields(template: str) -> list[str]:
    """Return fields that sit inside shell quotes, where opsbooks' own quoting would break."""
    inside: list[str] = []
    quote: str | None = None
    for literal, found in scan(template):
        for char in literal:
            if quote is None and char in "'\"":
                quote = char
            elif quote is not None and char == quote:
                quote = None
        if found is not None and quote is not None:
            inside.append(found.name)
    return inside


@dataclass(frozen=True)
class Bound:
    """A bound template: ``text`` is what runs, ``shown`` is safe to print."""

    text: str
    shown: str


def bind(template: str, values: Mapping[str, Any], *, shell: bool) -> Bound:
    """Fill the fields whose root is in ``values``; leave the others as written."""
    if isinstance(template, str) and "{" not in template and "}" not in template:
        return Bound(template, template)  # no field, no escape: a plan binds every step's
    real: list[str] = []
    shown: list[str] = []
    for literal, found in scan(template):
        real.append(literal)
        shown.append(literal)
        if found is None:
            continue
        if found.root not in values:
            real.append(found.raw)
            shown.append(found.raw)
            continue
        value = _lookup(values, found.name)  # a conversion is kept but, as always, not applied
        real.append(_render(value, found.spec, shell=shell, reveal=True))
        shown.append(_render(value, found.spec, shell=shell, reveal=False))
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
    """``a.b.c`` in ``values``; a mapping may hold a dotted key whole (``answers`` of a
    gate in a section: ``{answers.drain.approve}``)."""
    root, *rest = name.split(".")
    value = values[root]
    while rest:
        if isinstance(value, Mapping) and ".".join(rest) in value:
            return value[".".join(rest)]
        attr = rest.pop(0)
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


#: names a template can use besides params: bound when the step runs (answers, run id)
#: or at plan time (the runbook's name); ``outputs`` and ``host`` have their own modules
ANSWERS = "answers"
RUN_ID = "run_id"
RUNBOOK = "runbook"


def late_names(templates: Iterable[str | None]) -> list[str]:
    """``answers.GATE`` and ``run_id`` fields in ``templates``, in order, each once.

    These are known only when the step runs, like ``{outputs.NAME}``: the plan keeps
    their placeholders and the runner binds them at the step's start.
    """
    found: list[str] = []
    for template in templates:
        if not template:
            continue
        for name in fields(template):
            root, _, rest = name.partition(".")
            wanted = f"{ANSWERS}.{rest}" if root == ANSWERS and rest else name
            if ((root == ANSWERS and rest) or name == RUN_ID) and wanted not in found:
                found.append(wanted)
    return found


#: every placeholder a template can name, for the generated reference (docs/reference.md)
PLACEHOLDERS: tuple[tuple[str, str], ...] = (
    ("{x}", "the param `x`; shell-quoted in a command, plain text elsewhere; bound at plan time"),
    ("{runbook}", "the runbook's name (a param named `runbook` wins); bound at plan time"),
    ("{outputs.NAME}", "the output `NAME` an earlier step declares; bound when the step runs"),
    (
        "{answers.GATE_ID}",
        "the answer of an earlier gate (a secret answer is masked when shown and refused "
        "on a command line); bound when the step runs. In a section, a bare gate id is "
        "looked up in the step's own section, then each enclosing one, then the top; "
        "`{answers.SECTION.GATE}` names one anywhere",
    ),
    ("{run_id}", "this run's id; bound when the step runs"),
    (
        "{host.name}",
        "on Remote, RemoteVerify, RemoteWait, Upload and Download: the host's name (also "
        "`address`, `port`, `user`)",
    ),
    ("{host.KEY} / {host.vars.KEY}", "on steps that run on hosts: the host's var `KEY`"),
    ("{{ and }}", "one literal brace; other braces (`{ a; b; }`, `${X}`, `#{x}`) are text"),
)
