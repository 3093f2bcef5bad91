"""Incidents as the journal's facts tell them: detected, acknowledged, mitigated, resolved.

An incident is the set of runs that recorded the same ``incident.id`` fact (the L1 run
and the L2 and L3 runs it escalated to carry the same id), or one run that recorded
incident milestones without an id. Its detection is the earliest ``incident.detected``
(else the first run's start), its resolution the latest ``incident.resolved``; its
severity is the most severe ``incident.severity`` any of its runs recorded (an
incident raised from SEV3 to SEV1 is a SEV1 incident). Only resolved incidents count
toward MTTR; the other milestones give time to acknowledge and to mitigate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from opsbooks.records.journal.records import FactRecord, RunRecord

__all__ = ["Incident", "incidents"]

DETECTED, ACKNOWLEDGED = "incident.detected", "incident.acknowledged"
MITIGATED, RESOLVED = "incident.mitigated", "incident.resolved"
SEVERITY, ID = "incident.severity", "incident.id"
_MILESTONES = (DETECTED, ACKNOWLEDGED, MITIGATED, RESOLVED)


@dataclass(frozen=True)
class Incident:
    """One incident's timeline, in epoch seconds (None: not reached)."""

    key: str
    severity: str
    runs: tuple[str, ...]
    detected: float
    acknowledged: float | None = None
    mitigated: float | None = None
    resolved: float | None = None

    @property
    def time_to_resolve(self) -> float | None:
        return None if self.resolved is None else max(0.0, self.resolved - self.detected)

    @property
    def time_to_acknowledge(self) -> float | None:
        return None if self.acknowledged is None else max(0.0, self.acknowledged - self.detected)

    @property
    def time_to_mitigate(self) -> float | None:
        return None if self.mitigated is None else max(0.0, self.mitigated - self.detected)


def incidents(runs: Iterable[tuple[RunRecord, Sequence[FactRecord]]]) -> list[Incident]:
    """Group runs' facts into incidents, oldest detection first."""
    grouped: dict[str, list[tuple[RunRecord, Sequence[FactRecord]]]] = {}
    for record, facts in runs:
        if not any(f.name in _MILESTONES or f.name == SEVERITY for f in facts):
            continue
        ids = [str(f.value) for f in facts if f.name == ID and f.value]
        grouped.setdefault(ids[-1] if ids else record.id, []).append((record, facts))
    found = [_incident(key, members) for key, members in grouped.items()]
    return sorted(found, key=lambda i: i.detected)


def _incident(key: str, members: list[tuple[RunRecord, Sequence[FactRecord]]]) -> Incident:
    facts = [f for _, run_facts in members for f in run_facts]
    start = min(record.started_at for record, _ in members)
    severities = sorted(str(f.value) for f in facts if f.name == SEVERITY and f.value)
    return Incident(
        key=key,
        severity=severities[0] if severities else "",  # "SEV1" sorts before "SEV2"
        runs=tuple(record.id for record, _ in members),
        detected=_first(facts, DETECTED) or start,
        acknowledged=_first(facts, ACKNOWLEDGED),
        mitigated=_first(facts, MITIGATED),
        resolved=_last(facts, RESOLVED),
    )


def _first(facts: Sequence[FactRecord], name: str) -> float | None:
    times = [f.at for f in facts if f.name == name]
    return min(times) if times else None


def _last(facts: Sequence[FactRecord], name: str) -> float | None:
    times = [f.at for f in facts if f.name == name]
    return max(times) if times else None
