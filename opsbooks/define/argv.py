"""Values on a program's command line: a type that refuses a leading dash, and a scan.

A value bound into an argv word is one argument (opsbooks quotes it), but a program
still reads an argument starting with ``-`` as an option: ``git ls-remote
'--upload-pack=touch pwned'`` runs the payload. A parameter typed ``NoOption`` is
refused when it starts with ``-``, before any step runs. ``dash_positions`` lists
every place in a runbook where a parameter starts an argv word, is not after a
literal ``--`` and its type lets it start with ``-``: each is an option injection
unless the program never reads options there.
"""

from __future__ import annotations

import enum
import importlib
import re
import shlex
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic_core import core_schema

from opsbooks.define.template import scan

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic.fields import FieldInfo

    from opsbooks.define.runbook import Runbook
    from opsbooks.define.steps import Step

_DASH = ord("-")
#: the stdlib parser of patterns (``re._parser``), to read what a match starts with
_sre: Any = importlib.import_module("re._parser")
_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;"}


def refuse_leading_dash(value: str) -> str:
    """Return ``value``; raise ``ValueError`` if it starts with ``-`` (it would be an option)."""
    if value.startswith("-"):
        raise ValueError(
            "must not start with '-': a program would read it as an option, not a value"
        )
    return value


@dataclass(frozen=True)
class NoLeadingDash:
    """Pydantic annotation: the string may not start with ``-``. Use ``NoOption``."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(refuse_leading_dash, handler(source))


#: A string parameter that never starts with ``-``, for values that reach an argv:
#: ``remote: ob.NoOption = ob.Field("origin")``; ``commits: list[ob.NoOption]``.
NoOption = Annotated[str, NoLeadingDash()]


@dataclass(frozen=True)
class DashPosition:
    """A parameter that starts an argv word where a leading ``-`` would be an option."""

    step: str
    param: str
    template: str


def dash_positions(cls: type[Runbook]) -> list[DashPosition]:
    """Every param starting an argv word, not after ``--``, whose type allows a ``-``."""
    fields = cls.Params.model_fields
    found = []
    for item in list(cls.steps) + list(cls.compensations.values()):
        for template, words in _commands(item):
            for name in _word_starts(words):
                if name in fields and not refuses_dash(fields[name]):
                    found.append(DashPosition(item.id, name, template))
    return found


def _commands(item: Step) -> Iterator[tuple[str, list[str]]]:
    """Each command of ``item`` as (its template, its words); argv lists stay as given."""
    command: Any = None
    if item.kind in ("command", "remote"):
        command = getattr(item, "command", None)
    elif item.kind in ("verify", "wait"):
        command = getattr(item, "check", None)
    if command is None or callable(command):
        return
    if isinstance(command, str):
        yield command, _shell_words(command)
    else:
        yield " ".join(command), list(command)


def _shell_words(template: str) -> list[str]:
    lexer = shlex.shlex(template, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:
        return template.split()


def _word_starts(words: Sequence[str]) -> Iterator[str]:
    """Root names of fields that begin a word, skipping words after ``--`` in a command."""
    ended = False
    for word in words:
        if word in _SEPARATORS:
            ended = False
            continue
        if word == "--":
            ended = True
            continue
        if ended:
            continue
        first = next(scan(word), None)
        if first is not None and first[0] == "" and first[1] is not None:
            yield first[1].root


def refuses_dash(field: FieldInfo) -> bool:
    """Whether a field's type makes a value starting with ``-`` invalid."""
    if any(isinstance(meta, NoLeadingDash) for meta in field.metadata):
        return True
    pattern = next((m.pattern for m in field.metadata if getattr(m, "pattern", None)), None)
    if isinstance(pattern, str) and _pattern_refuses_dash(pattern):
        return True
    if _bounded_below(field):
        return True
    return _type_refuses_dash(field.annotation)


def _bounded_below(field: FieldInfo) -> bool:
    for meta in field.metadata:
        for name in ("ge", "gt"):
            bound = getattr(meta, name, None)
            if isinstance(bound, int | float) and bound >= 0:
                return True
    return False


def _type_refuses_dash(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extras = get_args(annotation)
        return any(isinstance(e, NoLeadingDash) for e in extras) or _type_refuses_dash(base)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return all(_type_refuses_dash(a) for a in members)
    if origin is Literal:
        return all(not str(v).startswith("-") for v in get_args(annotation))
    if origin in (list, tuple, set, frozenset, typing.Sequence):
        items = [a for a in get_args(annotation) if a is not Ellipsis]
        return bool(items) and all(_type_refuses_dash(a) for a in items)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return all(not str(m.value).startswith("-") for m in annotation)
    return annotation is bool


def _pattern_refuses_dash(pattern: str) -> bool:
    """A pattern whose every alternative is anchored at ``^`` then a char other than ``-``."""
    alternatives = _split_top(pattern)
    return all(_alternative_refuses_dash(alt) for alt in alternatives)


def _split_top(pattern: str) -> list[str]:
    parts, depth, start, escaped, in_class = [], 0, 0, False, False
    for index, char in enumerate(pattern):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
    return [*parts, pattern[start:]]


def _alternative_refuses_dash(alternative: str) -> bool:
    if not alternative.startswith("^"):
        return False
    try:
        parsed = _sre.parse(alternative[1:])
    except re.error:
        return False
    return _may_start_with_dash(list(parsed)) is not True


def _may_start_with_dash(items: list[Any]) -> bool | None:
    """True if a match may start with ``-``, False if not, None if it may be empty."""
    for op, arg in items:
        name = str(op)
        if name == "AT":
            continue
        if name == "LITERAL":
            return bool(arg == _DASH)
        if name == "IN":
            return _set_has_dash(arg)
        if name == "SUBPATTERN":
            found = _may_start_with_dash(list(arg[-1]))
        elif name == "BRANCH":
            firsts = [_may_start_with_dash(list(branch)) for branch in arg[1]]
            found = True if True in firsts else (None if None in firsts else False)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            found = _may_start_with_dash(list(arg[2]))
            found = None if arg[0] == 0 and found is False else found
        else:  # ANY, NOT_LITERAL, a back reference...: it may be a dash
            return True
        if found is not None:
            return found
    return None


def _set_has_dash(members: list[Any]) -> bool:
    for op, arg in members:
        name = str(op)
        if name == "NEGATE" or (name == "CATEGORY" and str(arg).startswith("CATEGORY_NOT")):
            return True
        if name == "LITERAL" and arg == _DASH:
            return True
        if name == "RANGE" and arg[0] <= _DASH <= arg[1]:
            return True
    return False
