"""Facts a step establishes: its ``marks=`` milestones and the ``::fact`` lines it prints.

A step marks a milestone declaratively (``Gate.confirm(..., marks="incident.acknowledged")``:
the time it succeeds, and who said yes), or prints a fact its command found::

    ::fact incident.severity=SEV2
    ::fact incident.detected @2026-12-02T09:00:00Z

A value is text; a trailing ``@ISO-8601`` time says when the fact became true (an
alert's start, say), else it is the time the step succeeded. Facts are journaled in
their own table, so reports and statistics (MTTR from ``incident.detected`` to
``incident.resolved``) read them instead of parsing logs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["FoundFact", "fact_lines", "parse_time"]

_LINE = re.compile(
    r"^::fact\s+(?P<name>[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)"
    r"(?:=(?P<value>.*?))?(?:\s+@(?P<at>\S+))?\s*$"
)


@dataclass(frozen=True)
class FoundFact:
    """A fact read from a step's output: its name, value (or None) and time (or None)."""

    name: str
    value: str | None
    at: float | None


def fact_lines(output: str) -> list[FoundFact]:
    """Every well-formed ``::fact`` line of ``output``, in order.

    A line whose time does not parse is kept with no time (the step's end is used):
    a fact is never dropped for a badly written timestamp.
    """
    found: list[FoundFact] = []
    for line in output.splitlines():
        match = _LINE.match(line.strip())
        if match is None:
            continue
        value = match.group("value")
        at = match.group("at")
        found.append(FoundFact(match.group("name"), value, parse_time(at) if at else None))
    return found


def parse_time(text: str) -> float | None:
    """Epoch seconds of an ISO-8601 time (``Z`` or an offset; naive means UTC), or None."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()
