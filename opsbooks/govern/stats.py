"""Operations statistics from the journal: pure over the records and facts passed in.

Definitions, so the figures mean one thing everywhere (docs/guides/governance.md):

- a run is *finished* when its outcome is final (succeeded, with warnings, failed,
  rolled back, abandoned); the success rate is succeeded / finished.
- a run *escalated* when it printed ``::metric escalated=1``, started a linked run
  (``SubRun``) of a more severe runbook, or did not succeed and a runbook it lists in
  ``related`` with a higher severity started within the escalation window after it began.
- MTTR per severity: from the incident facts the runs journaled (``incident.detected``
  to ``incident.resolved``, grouped by ``incident.id``; ``govern.incident_times``), with
  the mean times to acknowledge and to mitigate. A succeeded run of a runbook with
  ``severity`` set that recorded no incident facts counts as an incident too, detected
  at its start and resolved at its end.
- a *drill* is a run that measured RTO or RPO (``rto_seconds``/``rpo_seconds`` metrics).
- automation coverage: time in automated steps over time in all steps, gates and manual
  steps counting as manual (a gate's time is its wait for the person).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsbooks.define.policies import seconds
from opsbooks.govern.incident_times import incidents
from opsbooks.govern.settings import StatsSettings
from opsbooks.records.journal.records import FactRecord, GateRecord, RunRecord, Transition

FINISHED = frozenset({"succeeded", "succeeded_with_warnings", "failed", "rolled_back", "abandoned"})
SUCCEEDED = frozenset({"succeeded", "succeeded_with_warnings"})
#: the transition detail key a ``SubRun`` step journals its child run's id under
LINKED_RUN = "child_run"
SEVERITY_RANK = {"routine": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True)
class RunHistory:
    """One run as the journal holds it: its row, transitions, gate answers and facts."""

    record: RunRecord
    transitions: tuple[Transition, ...] = ()
    gates: tuple[GateRecord, ...] = ()
    facts: tuple[FactRecord, ...] = ()


@dataclass(frozen=True)
class BookFacts:
    """What the stats need of a runbook's definition."""

    severity: str = ""
    related: tuple[str, ...] = ()
    #: step id -> automated (``False`` for manual steps and gates)
    automated: Mapping[str, bool] = field(default_factory=dict)
    rto_target: float | None = None
    rpo_target: float | None = None


@dataclass(frozen=True)
class Figures:
    """The figures of one runbook, or of all of them together."""

    runs: int
    finished: int
    succeeded: int
    escalated: int
    median_seconds: float | None
    p90_seconds: float | None
    gate_wait_seconds: float
    automated_seconds: float
    manual_seconds: float
    commits: int | None = None

    @property
    def success_rate(self) -> float | None:
        return None if not self.finished else self.succeeded / self.finished

    @property
    def escalation_rate(self) -> float | None:
        return None if not self.finished else self.escalated / self.finished

    @property
    def automation(self) -> float | None:
        total = self.automated_seconds + self.manual_seconds
        return None if total <= 0 else self.automated_seconds / total

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "finished": self.finished,
            "succeeded": self.succeeded,
            "success_rate": _round(self.success_rate),
            "escalated": self.escalated,
            "escalation_rate": _round(self.escalation_rate),
            "median_seconds": _round(self.median_seconds),
            "p90_seconds": _round(self.p90_seconds),
            "gate_wait_seconds": _round(self.gate_wait_seconds),
            "automation_coverage": _round(self.automation),
            "automated_seconds": _round(self.automated_seconds),
            "manual_seconds": _round(self.manual_seconds),
            "commits": self.commits,
        }


@dataclass(frozen=True)
class Drill:
    runbook: str
    run_id: str
    at: float
    rto_seconds: float | None
    rto_target: float | None
    rpo_seconds: float | None
    rpo_target: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "runbook": self.runbook,
            "run": self.run_id,
            "date": _day(self.at),
            "rto_seconds": _round(self.rto_seconds),
            "rto_target_seconds": self.rto_target,
            "rto_met": _met(self.rto_seconds, self.rto_target),
            "rpo_seconds": _round(self.rpo_seconds),
            "rpo_target_seconds": self.rpo_target,
            "rpo_met": _met(self.rpo_seconds, self.rpo_target),
        }


@dataclass(frozen=True)
class Mttr:
    severity: str
    incidents: int
    mean_seconds: float
    target_seconds: float | None
    #: (day, hours to resolve) per incident, oldest first, for the trend chart
    points: tuple[tuple[str, float], ...] = ()
    #: mean time from detection to acknowledgement and to mitigation (incident facts)
    acknowledge_seconds: float | None = None
    mitigate_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "incidents": self.incidents,
            "mttr_seconds": _round(self.mean_seconds),
            "target_seconds": self.target_seconds,
            "met": _met(self.mean_seconds, self.target_seconds),
            "mtta_seconds": _round(self.acknowledge_seconds),
            "mttm_seconds": _round(self.mitigate_seconds),
        }


@dataclass(frozen=True)
class Stats:
    since: float
    until: float
    overall: Figures
    per_runbook: Mapping[str, Figures]
    mttr: tuple[Mttr, ...]
    drills: tuple[Drill, ...]
    failing_steps: tuple[tuple[str, str, int], ...]
    #: (day, outcome) -> runs, for the runs-over-time chart
    timeline: Mapping[tuple[str, str], int]

    def usage(self) -> list[tuple[str, int]]:
        """Runbooks by runs, most used first."""
        rows = [(name, f.runs) for name, f in self.per_runbook.items() if f.runs]
        return sorted(rows, key=lambda row: (-row[1], row[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": _day(self.since),
            "until": _day(self.until),
            "overall": self.overall.to_dict(),
            "runbooks": {name: f.to_dict() for name, f in sorted(self.per_runbook.items())},
            "usage": [{"runbook": n, "runs": c} for n, c in self.usage()],
            "mttr": [m.to_dict() for m in self.mttr],
            "drills": [d.to_dict() for d in self.drills],
            "failing_steps": [
                {"runbook": r, "step": s, "failures": n} for r, s, n in self.failing_steps
            ],
            "mttr_source": "incident facts (detected to resolved); runs of runbooks with "
            "severity set and no incident facts, start to end",
        }


def compute(
    history: Sequence[RunHistory],
    books: Mapping[str, BookFacts],
    *,
    since: float,
    until: float,
    commits: Mapping[str, int] | None = None,
    settings: StatsSettings | None = None,
) -> Stats:
    """Every figure over the runs that started in ``[since, until]``."""
    settings = settings or StatsSettings()
    runs = [h for h in history if since <= h.record.started_at <= until]
    runs.sort(key=lambda h: h.record.started_at)
    escalated = _escalated(runs, books, seconds(settings.escalation_window))
    names = sorted({h.record.runbook for h in runs} | set(books))
    commits = commits or {}
    per_runbook = {
        name: _figures(
            [h for h in runs if h.record.runbook == name],
            books,
            escalated,
            commits.get(name),
        )
        for name in names
    }
    timeline: Counter[tuple[str, str]] = Counter(
        (_day(h.record.started_at), h.record.outcome) for h in runs
    )
    return Stats(
        since=since,
        until=until,
        overall=_figures(runs, books, escalated, sum(commits.values()) if commits else None),
        per_runbook=per_runbook,
        mttr=tuple(_mttr(runs, books, settings.mttr_target_seconds())),
        drills=tuple(_drills(runs)),
        failing_steps=tuple(_failing(runs)),
        timeline=dict(timeline),
    )


def _figures(
    runs: Sequence[RunHistory],
    books: Mapping[str, BookFacts],
    escalated: set[str],
    commits: int | None,
) -> Figures:
    finished = [h for h in runs if h.record.outcome in FINISHED]
    durations = sorted(h.record.duration or 0.0 for h in finished)
    automated = manual = 0.0
    for h in runs:
        kinds = books.get(h.record.runbook, BookFacts()).automated
        for t in h.transitions:
            if t.duration is None or t.status.value not in ("succeeded", "failed"):
                continue
            if kinds.get(t.step_id, True):
                automated += t.duration
            else:
                manual += t.duration
    return Figures(
        runs=len(runs),
        finished=len(finished),
        succeeded=sum(1 for h in finished if h.record.outcome in SUCCEEDED),
        escalated=sum(1 for h in finished if h.record.id in escalated),
        median_seconds=statistics.median(durations) if durations else None,
        p90_seconds=_quantile(durations, 0.9),
        gate_wait_seconds=sum(max(0.0, g.answered_at - g.asked_at) for h in runs for g in h.gates),
        automated_seconds=automated,
        manual_seconds=manual,
        commits=commits,
    )


def _escalated(
    runs: Sequence[RunHistory], books: Mapping[str, BookFacts], window: float
) -> set[str]:
    found: set[str] = set()
    by_id = {h.record.id: h.record for h in runs}
    for h in runs:
        run = h.record
        if run.metrics.get("escalated") in (1, 1.0, True, "1") or _linked_higher(h, by_id, books):
            found.add(run.id)
            continue
        if run.outcome in SUCCEEDED:
            continue
        book = books.get(run.runbook, BookFacts())
        rank = SEVERITY_RANK.get(book.severity, 0)
        for later in runs:
            other = later.record
            higher = SEVERITY_RANK.get(books.get(other.runbook, BookFacts()).severity, 0) > rank
            in_window = run.started_at < other.started_at <= run.started_at + window
            if other.runbook in book.related and higher and in_window:
                found.add(run.id)
                break
    return found


def _linked_higher(
    history: RunHistory, by_id: Mapping[str, RunRecord], books: Mapping[str, BookFacts]
) -> bool:
    """Whether the run started a linked run (``SubRun``) of a more severe runbook."""
    rank = SEVERITY_RANK.get(books.get(history.record.runbook, BookFacts()).severity, 0)
    for t in history.transitions:
        child = by_id.get(str(t.detail.get(LINKED_RUN, "")))
        severity = books.get(child.runbook, BookFacts()).severity if child else ""
        if child is not None and SEVERITY_RANK.get(severity, 0) > rank:
            return True
    return False


def _mttr(
    runs: Sequence[RunHistory], books: Mapping[str, BookFacts], targets: Mapping[str, float]
) -> Iterable[Mttr]:
    found = incidents((h.record, h.facts) for h in runs)
    in_incident = {run_id for incident in found for run_id in incident.runs}
    # (detected at, resolve, acknowledge, mitigate) per incident, by severity
    by_severity: dict[str, list[tuple[float, float, float | None, float | None]]] = {}
    for incident in found:
        resolve = incident.time_to_resolve
        if incident.severity and resolve is not None:
            times = (incident.detected, resolve)
            marks = (incident.time_to_acknowledge, incident.time_to_mitigate)
            by_severity.setdefault(incident.severity, []).append((*times, *marks))
    for h in runs:
        severity = books.get(h.record.runbook, BookFacts()).severity
        legacy = h.record.id not in in_incident and h.record.outcome in SUCCEEDED
        if severity and legacy and h.record.duration is not None:
            entry = (h.record.started_at, h.record.duration, None, None)
            by_severity.setdefault(severity, []).append(entry)
    for severity in sorted(by_severity, key=_severity_order):
        items = sorted(by_severity[severity])
        yield Mttr(
            severity=severity,
            incidents=len(items),
            mean_seconds=statistics.fmean(item[1] for item in items),
            target_seconds=targets.get(severity),
            points=tuple((_day(at), d / 3600) for at, d, _, _ in items),
            acknowledge_seconds=_mean(item[2] for item in items),
            mitigate_seconds=_mean(item[3] for item in items),
        )


def _severity_order(severity: str) -> tuple[int, str]:
    """Most severe first: ``critical`` before ``low``, ``SEV1`` before ``SEV4``."""
    return (-SEVERITY_RANK.get(severity, 0), severity)


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _drills(runs: Sequence[RunHistory]) -> Iterable[Drill]:
    for h in runs:
        metrics = h.record.metrics
        if "rto_seconds" not in metrics and "rpo_seconds" not in metrics:
            continue
        yield Drill(
            runbook=h.record.runbook,
            run_id=h.record.id,
            at=h.record.started_at,
            rto_seconds=_float(metrics.get("rto_seconds")),
            rto_target=_float(metrics.get("rto_target_seconds")),
            rpo_seconds=_float(metrics.get("rpo_seconds")),
            rpo_target=_float(metrics.get("rpo_target_seconds")),
        )


def _failing(runs: Sequence[RunHistory], top: int = 10) -> list[tuple[str, str, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for h in runs:
        for t in h.transitions:
            if t.status.value == "failed":
                counts[(h.record.runbook, t.step_id)] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(runbook, step, n) for (runbook, step), n in ranked[:top]]


def _quantile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank quantile: a value that occurred, not an interpolation."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * q // 1))
    return ordered[int(rank) - 1]


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _met(value: float | None, target: float | None) -> bool | None:
    return None if value is None or target is None else value <= target


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _day(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).date().isoformat()
