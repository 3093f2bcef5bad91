"""MTTR comes out of the incident facts runs journal: one incident across the linked
L1 and L2 runs that share its id, its severity the most severe either recorded."""

from __future__ import annotations

import datetime as dt

import opsbooks as ob
from opsbooks.govern.incident_times import incidents
from opsbooks.govern.settings import StatsSettings
from opsbooks.govern.stats import RunHistory, compute
from opsbooks.records.journal import FactRecord, RunRecord
from opsbooks.testing import Drill

T0 = dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC)


def _at(minutes: int) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FirstLine(ob.Runbook):
    """Take the incident, then hand it on."""

    scope = "tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    @ob.step()
    def take(self, ctx: ob.StepContext) -> str:
        return (
            f"::fact incident.id=INC-7\n::fact incident.severity=SEV3\n"
            f"::fact incident.detected @{_at(0)}\n::fact incident.acknowledged @{_at(4)}\n"
        )


class SecondLine(ob.Runbook):
    """Raise it, mitigate and resolve."""

    scope = "tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    @ob.step()
    def fix(self, ctx: ob.StepContext) -> str:
        return (
            f"::fact incident.id=INC-7\n::fact incident.severity=SEV1\n"
            f"::fact incident.mitigated @{_at(30)}\n::fact incident.resolved @{_at(50)}\n"
        )


def test_linked_runs_of_one_incident_give_one_mttr_against_its_target(drill: Drill) -> None:
    drill.runbooks = (FirstLine, SecondLine)
    first = drill.run(FirstLine)
    second = drill.run(SecondLine)
    history = [
        RunHistory(r.record, tuple(r.transitions), tuple(r.gates), tuple(r.facts))
        for r in (first, second)
    ]
    settings = StatsSettings(mttr_targets={"SEV1": "1h", "SEV3": "1d"})
    stats = compute(history, {}, since=0, until=T0.timestamp() + 10**9, settings=settings)
    assert [m.severity for m in stats.mttr] == ["SEV1"]
    sev1 = stats.mttr[0]
    assert sev1.incidents == 1
    assert sev1.mean_seconds == 50 * 60
    assert sev1.acknowledge_seconds == 4 * 60 and sev1.mitigate_seconds == 30 * 60
    assert sev1.to_dict()["met"] is True


def test_an_unresolved_incident_has_no_mttr_and_a_run_without_an_id_is_its_own() -> None:
    run = RunRecord("r1", "incident.l1", "f", {}, {}, "op", "h", 1, started_at=100.0)
    other = RunRecord("r2", "incident.l1", "f", {}, {}, "op", "h", 1, started_at=200.0)
    found = incidents(
        [
            (run, [FactRecord("r1", "s", "incident.severity", "SEV2", 100.0)]),
            (other, [FactRecord("r2", "s", "incident.resolved", None, 260.0)]),
            (run, []),
        ]
    )
    assert [(i.key, i.severity, i.time_to_resolve) for i in found] == [
        ("r1", "SEV2", None),
        ("r2", "", 60.0),
    ]
