"""Times and the incident milestones: ISO text, durations, and MTTR from the facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from opsbooks.records.journal import FactRecord

DETECTED = "incident.detected"
ACKNOWLEDGED = "incident.acknowledged"
MITIGATED = "incident.mitigated"
RESOLVED = "incident.resolved"
SEVERITY = "incident.severity"
INCIDENT_ID = "incident.id"
ESCALATED = "incident.escalated"


def iso(at: float) -> str:
    """``2026-12-02T09:00:00Z`` (UTC, whole seconds)."""
    moment = dt.datetime.fromtimestamp(at, dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def span(seconds: float) -> str:
    """``1h 05m``, ``12m 30s``, ``45s``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


@dataclass(frozen=True)
class Milestones:
    """The incident's milestone times (epoch seconds), the earliest of each over its runs."""

    detected: float | None = None
    acknowledged: float | None = None
    mitigated: float | None = None
    resolved: float | None = None
    severity: str = ""

    @classmethod
    def of(cls, facts: Iterable[FactRecord]) -> Milestones:
        first: dict[str, float] = {}
        severity = ""
        for fact in facts:
            if fact.name == SEVERITY and fact.value:
                severity = str(fact.value)
            if fact.name not in first or fact.at < first[fact.name]:
                first[fact.name] = fact.at
        return cls(
            first.get(DETECTED),
            first.get(ACKNOWLEDGED),
            first.get(MITIGATED),
            first.get(RESOLVED),
            severity,
        )

    def since_detected(self, at: float | None) -> float | None:
        return None if at is None or self.detected is None else at - self.detected

    @property
    def mttr(self) -> float | None:
        """Time to resolve: detection to resolution, in seconds."""
        return self.since_detected(self.resolved)
