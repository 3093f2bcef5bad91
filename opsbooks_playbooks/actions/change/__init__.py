"""Change-management rules the change and support runbooks share: pure, no I/O.

Risk classes, who approves each, change windows and freeze periods, and parsing the
ISO-8601 UTC times and durations people type. Every refusal is a ``ChangeRefused``
whose message names the times involved and what to do instead.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsbooks_playbooks.actions import ActionError

__runbooks__ = False

#: ISO-8601 UTC instant as typed in params: 2026-12-02T22:00Z or 2026-12-02T22:00:00Z
UTC_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$"
RISKS = ("low", "medium", "high", "emergency")
#: who approves a change of each risk, in the order they are asked
APPROVERS: Mapping[str, tuple[str, ...]] = {
    "low": ("service owner",),
    "medium": ("change advisory board", "service owner"),
    "high": ("engineering director", "change advisory board", "service owner"),
    "emergency": ("on-call lead",),
}
_BLAST = {"host": 0, "service": 1, "platform": 2}
_REVERSE = {"instant": 0, "rollback": 1, "irreversible": 2}
_DATA = {"none": 0, "config": 1, "customer": 2}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ChangeRefused(ActionError):
    """The change may not go ahead now; the message says why and when it may."""


def parse_utc(text: str, what: str) -> dt.datetime:
    """Read ``2026-12-02T22:00Z`` (seconds optional) as an aware UTC datetime."""
    if not re.match(UTC_PATTERN, text.strip()):
        raise ValueError(f"{what} {text!r} is not an ISO-8601 UTC time like 2026-12-02T22:00Z")
    return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))


def utc_text(when: dt.datetime) -> str:
    """The ``YYYY-MM-DDTHH:MM:SSZ`` form of an aware datetime."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str, what: str) -> float:
    """Seconds in ``30m``, ``2h``, ``1d``, ``45s`` or a bare number of seconds."""
    value = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"{what} {text!r} is not a duration like 30m, 2h or 1d")
    return float(match.group(1)) * _UNIT[match.group(2)]


def classify_risk(blast_radius: str, reversibility: str, data_touched: str) -> str:
    """The risk class of a planned change: the worst factor decides, two bad ones make high.

    ``host``/``instant``/``none`` are low; any one of ``service``, ``rollback`` or
    ``config`` makes it medium; ``platform``, ``irreversible`` or ``customer`` data
    alone makes it high, and so do two medium factors together.
    """
    scores = [
        _score(_BLAST, blast_radius, "blast radius"),
        _score(_REVERSE, reversibility, "reversibility"),
        _score(_DATA, data_touched, "data touched"),
    ]
    if max(scores) == 2 or sum(scores) >= 3:
        return "high"
    return "medium" if max(scores) == 1 else "low"


def _score(table: Mapping[str, int], value: str, what: str) -> int:
    if value not in table:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(table)}")
    return table[value]


@dataclass(frozen=True)
class Freeze:
    """A period in which no planned change may run (``[settings.change] freezes``)."""

    start: dt.datetime
    end: dt.datetime
    reason: str


def read_freezes(settings: Mapping[str, Any]) -> list[Freeze]:
    """The ``freezes`` list of a settings table, each ``{start, end, reason}``."""
    raw = settings.get("freezes", [])
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError("[settings.change] freezes must be a list of {start, end, reason} tables")
    found = []
    for index, entry in enumerate(raw):
        where = f"[settings.change] freezes[{index}]"
        if not isinstance(entry, Mapping) or not {"start", "end"} <= set(entry):
            raise ValueError(f"{where} needs start and end (ISO-8601 UTC) and a reason")
        start = parse_utc(str(entry["start"]), f"{where}.start")
        end = parse_utc(str(entry["end"]), f"{where}.end")
        if end <= start:
            raise ValueError(f"{where} ends ({utc_text(end)}) before it starts ({utc_text(start)})")
        found.append(Freeze(start, end, str(entry.get("reason", "change freeze"))))
    return found


def change_settings(config: Mapping[str, Any], runbook: str) -> dict[str, Any]:
    """``[settings.change]`` with ``[settings."<runbook>"]`` on top, from ``ctx.config``."""
    settings = config.get("settings") or {}
    category = runbook.split(".", 1)[0]
    return {**settings.get(category, {}), **settings.get(runbook, {})}


def check_window(
    start: dt.datetime, end: dt.datetime, now: dt.datetime, freezes: Iterable[Freeze] = ()
) -> str:
    """Refuse unless ``now`` is inside [start, end) and the window overlaps no freeze."""
    if end <= start:
        raise ChangeRefused(
            f"the window ends ({utc_text(end)}) before it starts ({utc_text(start)}); "
            "give a window_end after window_start"
        )
    for freeze in freezes:
        if start < freeze.end and freeze.start < end:
            raise ChangeRefused(
                f"the window {utc_text(start)} to {utc_text(end)} overlaps the change freeze "
                f"{utc_text(freeze.start)} to {utc_text(freeze.end)} ({freeze.reason}); "
                "schedule it after the freeze, or use change.emergency if it cannot wait"
            )
    if now < start:
        raise ChangeRefused(
            f"it is {utc_text(now)}, before the change window opens at {utc_text(start)} "
            f"(it closes at {utc_text(end)}); start the run again inside the window"
        )
    if now >= end:
        raise ChangeRefused(
            f"it is {utc_text(now)}, after the change window closed at {utc_text(end)} "
            f"(it opened at {utc_text(start)}); book a new window and run again"
        )
    left = int((end - now).total_seconds() // 60)
    return f"inside the window {utc_text(start)} to {utc_text(end)}: {left} min left"
