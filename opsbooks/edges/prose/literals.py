"""Python literals for any text, laid out the way ``ruff format`` leaves them.

Every piece of a user's text reaches the generated source through ``lit`` (a string
literal with every backslash, quote, control and unprintable character escaped) or
``docstring``; nothing is pasted into code raw. The quote is the one with fewer escapes,
double on a tie, which is the choice ruff's formatter makes, so its check passes.
"""

from __future__ import annotations

import textwrap
import unicodedata

WIDTH = 88
_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def lit(text: str) -> str:
    """A string literal of ``text``."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    body = "".join("\\" + c if c == quote else _escaped(c) for c in text)
    return f"{quote}{body}{quote}"


def width(line: str) -> int:
    """Columns a line takes: wide characters count two, combining marks none."""
    total = 0
    for char in line:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total


def assign(indent: str, name: str, text: str) -> list[str]:
    """``name = "text"``, parenthesized only where that is what makes it fit."""
    one = f"{indent}{name} = {lit(text)}"
    if width(one) <= WIDTH or width(f"{indent}    {lit(text)}") > WIDTH:
        return [one]
    return [f"{indent}{name} = (", f"{indent}    {lit(text)}", f"{indent})"]


def str_tuple(indent: str, head: str, items: list[str]) -> list[str]:
    """``head (...)`` with one item a line (a trailing comma keeps it so), or ``()``.

    A tuple, not a list: a mutable class attribute is a finding of ruff's defaults
    (RUF012), and the runbook reads any sequence.
    """
    if not items:
        return [f"{indent}{head} ()"]
    one = f"{indent}{head} ({lit(items[0])},)"
    if len(items) == 1 and width(one) <= WIDTH:  # ruff keeps no 1-tuple exploded
        return [one]
    return [f"{indent}{head} (", *(f"{indent}    {lit(i)}," for i in items), f"{indent})"]


def call(
    indent: str, head: str, args: list[str], keywords: list[tuple[str, str]], end: str = ""
) -> list[str]:
    """``head(`` one argument a line ``)``: positional literals, then keyword literals."""
    inner = indent + "    "
    lines = [f"{indent}{head}("]
    lines += [f"{inner}{arg}," for arg in args]
    lines += [f"{inner}{key}={value}," for key, value in keywords]
    return [*lines, f"{indent}){end}"]


def docstring(indent: str, paragraphs: list[str]) -> list[str]:
    """A docstring: the first paragraph, then the others, each wrapped to the width.

    Whitespace inside a paragraph is folded (it is prose); quotes that could end the
    docstring and every backslash are escaped, so any text is safe here.
    """
    texts = [" ".join(p.split()) for p in paragraphs if p.split()]
    if not texts:
        texts = ["A runbook."]
    wrapped = [
        textwrap.wrap(
            _doc_escape(t), WIDTH - len(indent), break_on_hyphens=False, break_long_words=False
        )
        for t in texts
    ]
    lines: list[str] = []
    for number, para in enumerate(wrapped):
        if number:
            lines.append("")
        lines.extend(para)
    if len(lines) == 1 and width(f'{indent}"""{lines[0]}"""') <= WIDTH:
        return [f'{indent}"""{lines[0]}"""']
    body = [f"{indent}{line}" if line else "" for line in lines]
    body[0] = f'{indent}"""{lines[0]}'
    return [*body, f'{indent}"""']


def _doc_escape(text: str) -> str:
    """Text safe inside triple double quotes: backslashes, a third quote in a row and a
    last quote escaped (ruff keeps escapes that are needed, and only those are made)."""
    out: list[str] = []
    run = 0  # unescaped quotes just written
    for index, char in enumerate(text):
        if char == '"' and (run == 2 or index == len(text) - 1):
            out.append('\\"')
            run = 0
        elif char == '"':
            out.append(char)
            run += 1
        else:
            out.append("\\\\" if char == "\\" else _escaped(char))
            run = 0
    return "".join(out)
