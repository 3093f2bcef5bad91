"""Take a server out of an nginx-style upstream and raise the maintenance flag, and back.

Draining marks the ``server ADDRESS ...;`` line of the upstream file ``down`` (nginx's
own keyword: it keeps the line, so reopening restores it exactly) and writes the
maintenance flag file the service's health endpoint reads (it then answers
``draining``). Both are idempotent: draining twice, or reopening what is open, changes
nothing. The files are replaced atomically, so nginx never reads half a file.
"""

from __future__ import annotations

import re
from pathlib import Path

from opsbooks_playbooks.actions import ActionError, write_atomic

_DOWN = re.compile(r"\s+down(?=\s*;)")


def _server_line(address: str) -> re.Pattern[str]:
    return re.compile(rf"^(\s*server\s+{re.escape(address)})(\s[^;]*)?;", re.MULTILINE)


def _read(upstream: Path, address: str) -> tuple[str, re.Match[str]]:
    try:
        text = upstream.read_text()
    except FileNotFoundError:
        raise ActionError(f"upstream file {upstream} does not exist; check --upstream") from None
    match = _server_line(address).search(text)
    if match is None:
        raise ActionError(
            f"{upstream} has no `server {address};` line; the servers it lists: "
            + (", ".join(re.findall(r"^\s*server\s+(\S+?)[\s;]", text, re.MULTILINE)) or "none")
        )
    return text, match


def drain(upstream: Path, address: str, flag: Path, reason: str) -> str:
    """Mark ``address`` down in ``upstream`` and write ``flag`` with ``reason``."""
    text, match = _read(upstream, address)
    options = match.group(2) or ""
    if _DOWN.search(options + ";"):
        state = f"{address} was already down in {upstream}"
    else:
        line = f"{match.group(1)}{options} down;"
        write_atomic(upstream, (text[: match.start()] + line + text[match.end() :]).encode())
        state = f"marked {address} down in {upstream}"
    write_atomic(flag, f"{reason}\n".encode())
    return f"{state}; maintenance flag {flag} raised ({reason})"


def reopen(upstream: Path, address: str, flag: Path) -> str:
    """Put ``address`` back into ``upstream`` and remove ``flag``."""
    text, match = _read(upstream, address)
    options = match.group(2) or ""
    cleared = _DOWN.sub("", options + ";")[:-1]
    if cleared == options:
        state = f"{address} was already serving in {upstream}"
    else:
        line = f"{match.group(1)}{cleared};"
        write_atomic(upstream, (text[: match.start()] + line + text[match.end() :]).encode())
        state = f"put {address} back into {upstream}"
    flag.unlink(missing_ok=True)
    return f"{state}; maintenance flag {flag} removed"


def is_down(upstream: Path, address: str) -> bool:
    """Whether ``address`` is marked down in ``upstream``."""
    _text, match = _read(upstream, address)
    return bool(_DOWN.search((match.group(2) or "") + ";"))
