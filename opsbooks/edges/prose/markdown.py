"""Read Markdown into flat blocks: headings, paragraphs, list items, fenced code.

Only the block structure a prose runbook uses; inline markup stays in the text. Each
block keeps its indentation (nested items, code under an item) and its line number,
so the mapping rules can group and the generated comments can point back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^\s`]*)")
_HEADING = re.compile(r"^\s{0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(?P<indent>\s*)(?P<marker>[-*+]|\d{1,9}[.)])\s+(?P<text>.*)$")
_CHECK = re.compile(r"^\[(?P<mark>[ xX])\](?:\s+|$)(?P<text>.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")


@dataclass(frozen=True)
class Block:
    """One block: ``kind`` is heading, para, item or code."""

    kind: str
    text: str
    line: int
    indent: int = 0
    level: int = 0  # a heading's level
    ordered: bool = False  # an item: numbered
    checklist: bool = False  # an item: ``- [ ]``
    lang: str = ""  # code: the fence's language word


def _width(space: str) -> int:
    return len(space.expandtabs(4))


def blocks(text: str) -> list[Block]:
    """The blocks of ``text``, in order."""
    return list(_read(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")))


def _read(lines: list[str]) -> Iterator[Block]:
    index = 0
    para: list[str] = []
    para_at = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        starts = fence or _HEADING.match(line) or _ITEM.match(line) or not line.strip()
        if para and (starts or _RULE.match(line)):
            yield Block("para", " ".join(para), para_at, indent=_width(_lead(lines[para_at - 1])))
            para = []
        if fence:
            block, index = _code(lines, index, fence)
            yield block
            continue
        yield from _line_block(line, index + 1, para, para_at)
        if not starts and not _RULE.match(line):
            if not para:
                para_at = index + 1
            para.append(line.strip())
        index += 1
    if para:
        yield Block("para", " ".join(para), para_at, indent=_width(_lead(lines[para_at - 1])))


def _lead(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _line_block(line: str, number: int, para: list[str], para_at: int) -> Iterator[Block]:
    heading = _HEADING.match(line)
    if heading:
        yield Block("heading", heading["text"], number, level=len(heading["hashes"]))
        return
    item = _ITEM.match(line)
    if item and not _RULE.match(line):
        check = _CHECK.match(item["text"])
        yield Block(
            "item",
            check["text"] if check else item["text"],
            number,
            indent=_width(item["indent"]),
            ordered=item["marker"][0].isdigit(),
            checklist=check is not None,
        )


def _lang(word: str) -> str:
    """The fence's language word, reduced to the characters a language name has."""
    return re.sub(r"[^a-z0-9_+-]", "", word.lower())[:20]


def _code(lines: list[str], start: int, fence: re.Match[str]) -> tuple[Block, int]:
    """The fenced block opening at ``start`` and the index after its closing fence."""
    indent = _width(fence["indent"])
    marker = fence["fence"]
    body: list[str] = []
    index = start + 1
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith(marker[0] * len(marker)) and not stripped.strip(marker[0]):
            index += 1
            break
        lead = min(indent, _width(_lead(line)))
        body.append(line.expandtabs(4)[lead:] if line.strip() else "")
        index += 1
    block = Block("code", "\n".join(body), start + 1, indent=indent, lang=_lang(fence["lang"]))
    return block, index
