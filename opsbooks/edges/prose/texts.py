"""Small text helpers of the mapping: heading kinds, titles, ids, links, key bullets."""

from __future__ import annotations

import keyword
import re

#: heading kind -> the words a heading starts with (lower case, "Step 2:" dropped)
KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("about", ("purpose", "overview", "summary", "description", "introduction", "about")),
    ("scope", ("scope", "when to use")),
    ("prerequisites", ("prerequisite", "requirements", "before you start", "before you begin")),
    ("verification", ("verification", "verify", "validation", "success criteria", "checks")),
    ("troubleshooting", ("troubleshoot", "common issues", "known issues", "common problems")),
    ("recovery", ("recovery", "rollback", "roll back", "rolling back", "undo", "back out")),
    ("related", ("related", "see also")),
    (
        "notes",
        (
            *("contact", "escalation", "last updated", "documentation", "change log"),
            *("changelog", "history", "references", "revision", "notes", "next review"),
        ),
    ),
    ("procedure", ("steps", "procedure", "instructions")),
)

RUNBOOK_NAME = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")
_FILE_SUFFIXES = frozenset({"md", "html", "htm", "txt", "rst", "py", "yml", "yaml", "json", "pdf"})
_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]*)[^)]*\)")
_KEY = re.compile(r"^\s*\*\*(?P<key>[^*]+?)\s*:?\s*\*\*\s*:?\s*(?P<value>.*)$", re.DOTALL)
_BOLD_KEY = re.compile(r"\*\*(?P<key>[^*]+?):?\*\*\s*:?")
_STEP_PREFIX = re.compile(r"^(step|phase|stage|part)\s*\d+[.:)]?\s*[-:.]?\s*", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")


def plain(text: str) -> str:
    """Text without the inline markup that reads badly in a title or id."""
    text = _LINK.sub(lambda m: m["text"], text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    return " ".join(text.split())


def heading_kind(text: str) -> str:
    """The kind of an H2 or deeper heading; ``section`` when no keyword matches."""
    words = " ".join(_WORD.findall(_STEP_PREFIX.sub("", plain(text).lower())))
    for kind, starts in KINDS:
        if words.startswith(starts):
            return kind
    return "section"


def issue_of(text: str) -> str | None:
    """The issue a heading names (``Issue: X``, ``Problem: X``), or None."""
    match = re.match(r"^\s*(issue|problem|symptom)s?\s*[:\-]\s*(?P<rest>.+)$", plain(text), re.I)
    return match["rest"].strip() if match else None


def key_value(text: str) -> tuple[str, str] | None:
    """``**Key:** value`` (or ``**Key**: value``) as (key, value)."""
    match = _KEY.match(text)
    if not match:
        return None
    return match["key"].strip().rstrip(":"), match["value"].strip()


def keyed_parts(text: str) -> list[tuple[str, str]]:
    """Every ``**Key**: value`` run of a paragraph, in order (``**Cause**: x **Fix**: y``).

    A paragraph that does not start with a bold key has none.
    """
    keys = list(_BOLD_KEY.finditer(text))
    if not keys or text[: keys[0].start()].strip():
        return []
    ends = [k.start() for k in keys[1:]] + [len(text)]
    return [
        (k["key"].strip(), text[k.end() : end].strip()) for k, end in zip(keys, ends, strict=True)
    ]


def title_of(text: str, limit: int = 60) -> str:
    """A step or section title: ``Label: rest`` gives Label; else the first sentence."""
    words = _STEP_PREFIX.sub("", plain(text).replace("`", "")) or plain(text)
    label, colon, rest = words.partition(": ")
    if colon and 0 < len(label) <= limit and rest:
        words = label
    words = re.split(r"(?<=[.!?])\s", words, maxsplit=1)[0].rstrip(".:")
    if len(words) > limit:
        words = words[:limit].rsplit(" ", 1)[0] + "..."
    return words or "Step"


def ident(text: str, taken: set[str], reserved: frozenset[str]) -> str:
    """A new identifier from ``text``: lower-case words, unique, no keyword or reserved name."""
    words = _WORD.findall(plain(text).lower())[:5]
    base = "_".join(words)[:40].strip("_") or "step"
    if base[0].isdigit():
        base = f"step_{base}"
    if keyword.iskeyword(base) or base in reserved or base.startswith("_"):
        base = f"{base}_step"
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base}_{count}"
    taken.add(name)
    return name


def links(text: str) -> list[tuple[str, str]]:
    """The (text, target) of each Markdown link in ``text``; a bare text is one link."""
    found = [(m["text"].strip(), m["target"].strip()) for m in _LINK.finditer(text)]
    return found or [(plain(text), "")]


def runbook_name(candidates: tuple[str, ...]) -> str | None:
    """The first candidate that looks like ``category.name`` (not ``file.md``)."""
    for candidate in candidates:
        value = candidate.strip().strip("`")
        if RUNBOOK_NAME.fullmatch(value) and value.rsplit(".", 1)[1] not in _FILE_SUFFIXES:
            return value
    return None
