"""The end of an audit file, read backwards: what a resume checks and continues.

A resume needs two things of a run's audit file: that its end is the one the journal
anchored (head hash and line count), and the last line's hash and ``seq`` to continue
the chain. Both are in the last two lines, so they are read from the end of the file,
in blocks, and a 1,000-step run's 2,000 lines are not parsed and re-hashed on every
resume. The whole chain (every line's hash and link) is what ``opsbooks audit verify``
checks; an edit before the anchor stays visible to it after any number of resumes,
because appended lines cannot repair a broken link.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

_BLOCK = 8192


def last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` non-blank lines of ``path`` (fewer if it has fewer), oldest first."""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        data, at = b"", end
        while at > 0 and data.count(b"\n") <= count + 1:
            step = min(_BLOCK, at)
            at -= step
            handle.seek(at)
            data = handle.read(step) + data
    lines = [line for line in data.split(b"\n") if line.strip()]
    if at > 0:
        lines = lines[1:]  # the first one may be cut at the block's start
    return [line.decode("utf-8") for line in lines[-count:]]


def _line(text: str, digest: Callable[[dict[str, Any]], str]) -> dict[str, Any] | None:
    """The line's fields if it is a JSON object whose hash matches its content."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or "hash" not in data:
        return None
    claimed = data.pop("hash")
    if digest(data) != claimed:
        return None
    return {**data, "hash": claimed}


def tail_matches(
    path: Path, head: str, lines: int, digest: Callable[[dict[str, Any]], str]
) -> bool:
    """Whether the file ends at the anchor (``head``, ``lines``), or one line past it.

    One line past it is the line a process may have written just before it died,
    before its anchor was committed (as ``verify`` allows). Anything else, or anything
    that does not parse, is for the full ``verify`` to describe.
    """
    try:
        tail = [_line(text, digest) for text in last_lines(path, 2)]
    except (OSError, UnicodeDecodeError):
        return False
    if not tail or any(entry is None for entry in tail):
        return False
    last = tail[-1]
    assert last is not None
    if last.get("seq") == lines:
        return bool(last["hash"] == head)
    if last.get("seq") != lines + 1 or last.get("prev") != head or len(tail) < 2:
        return False
    before = tail[0]
    assert before is not None
    return bool(before.get("seq") == lines and before["hash"] == head)
