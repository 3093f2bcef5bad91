"""The incident policy (fast): the matrix, MTTR targets, levels, their errors, the
``[tool.opsbooks.incidents]`` table in a real config file, and the review renderer."""

from __future__ import annotations

from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.config import load_config
from opsbooks.edges.run_journal import RunJournal
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import FactRecord, GateRecord, RunRecord, Transition
from opsbooks_playbooks.actions.incident import review
from opsbooks_playbooks.actions.incident.params import IncidentParams
from opsbooks_playbooks.actions.incident.timing import Milestones

T0 = 1_796_203_800.0  # 2026-12-02T09:30:00Z


@pytest.mark.parametrize(
    ("impact", "urgency", "severity"),
    [
        ("extensive", "critical", "SEV1"),
        ("extensive", "medium", "SEV2"),
        ("significant", "high", "SEV2"),
        ("moderate", "medium", "SEV3"),
        ("minor", "low", "SEV4"),
    ],
)
def test_default_matrix(impact: str, urgency: str, severity: str) -> None:
    assert ob.IncidentPolicy().classify(impact, urgency) == severity


def test_default_targets_and_levels() -> None:
    policy = ob.IncidentPolicy()
    assert [policy.mttr_seconds(s) for s in ("SEV1", "SEV2", "SEV3", "SEV4")] == [
        3600,
        4 * 3600,
        24 * 3600,
        72 * 3600,
    ]
    assert [policy.level(n).response_seconds for n in ("L1", "L2", "L3")] == [900, 1800, 3600]
    assert policy.level("L2").runbook == "incident.l2"
    assert (policy.next_level("L1"), policy.next_level("L2"), policy.next_level("L3")) == (
        "L2",
        "L3",
        None,
    )


def test_unknown_names_list_the_valid_ones() -> None:
    policy = ob.IncidentPolicy()
    with pytest.raises(ob.ConfigError, match="unknown severity 'SEV5'; valid: SEV1, SEV2"):
        policy.mttr_seconds("SEV5")
    with pytest.raises(ob.ConfigError, match="unknown impact 'huge'; valid: extensive"):
        policy.classify("huge", "high")
    with pytest.raises(ob.ConfigError, match="unknown urgency 'now'; valid: critical"):
        policy.classify("minor", "now")
    with pytest.raises(ob.ConfigError, match="unknown escalation level 'L4'; valid: L1, L2, L3"):
        policy.next_level("L4")


def test_a_level_without_contact_names_the_key_to_add() -> None:
    policy = ob.IncidentPolicy()
    assert policy.contact("L1", {"contacts": {"L1": "ops"}}) == "ops"
    with pytest.raises(ob.ConfigError) as caught:
        policy.contact("L3", {"contacts": {"L1": "ops"}})
    assert 'add L3 = "name, phone or handle" to [tool.opsbooks.contacts]' in str(caught.value)


def test_the_table_in_a_config_file_changes_the_policy(tmp_path: Path) -> None:
    (tmp_path / "opsbooks.toml").write_text(
        '[incidents]\nmttr = { SEV1 = "30m" }\n'
        '[incidents.levels.L1]\ntitle = "NOC"\ncontact = "L1"\nresponse = "5m"\n'
        'runbook = "incident.l1"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    policy = ob.IncidentPolicy.from_config(config.model_dump())
    assert policy.mttr_seconds("SEV1") == 1800 and policy.mttr_seconds("SEV2") == 4 * 3600
    assert list(policy.levels) == ["L1"] and policy.next_level("L1") is None


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("matrix = 3", "matrix: Input should be a valid dictionary"),
        ("severities = []", "unknown key(s) severities"),
        ('mttr = { SEV2 = "soon" }', "mttr.SEV2: not a duration: 'soon'"),
        ('matrix = { minor = { low = "SEV9" } }', "matrix has no row for impact 'extensive'"),
    ],
)
def test_a_malformed_table_is_a_config_error_naming_it(
    tmp_path: Path, table: str, problem: str
) -> None:
    (tmp_path / "opsbooks.toml").write_text(f"[incidents]\n{table}\n", encoding="utf-8")
    with pytest.raises(ob.ConfigError) as caught:
        load_config(tmp_path)
    assert "[tool.opsbooks.incidents]" in str(caught.value)
    assert problem.lower() in str(caught.value).lower()  # load_config lower-cases


def _record() -> RunJournal:
    run = RunRecord("r1", "incident.l1", "f", {}, {}, "alice", "h", 1, T0)
    facts = (
        FactRecord("r1", "classify", "incident.detected", None, T0 - 300, "alice"),
        FactRecord("r1", "classify", "incident.severity", "SEV2", T0, "alice"),
        FactRecord("r1", "acknowledge", "incident.acknowledged", None, T0 + 60, "bob"),
        FactRecord("r1", "decide", "incident.mitigated", None, T0 + 1200, "alice"),
        FactRecord("r1", "confirm_resolved", "incident.resolved", None, T0 + 3300, "carol"),
    )
    gates = (
        GateRecord(
            "r1",
            "acknowledge",
            "confirm",
            "Acknowledge?",
            True,
            "bob",
            "terminal",
            T0 + 10,
            T0 + 60,
        ),
        GateRecord(
            "r1",
            "root_cause",
            "ask",
            "Root cause?",
            "disk full | logs",
            "carol",
            "terminal",
            T0 + 2000,
            T0 + 2100,
        ),
    )
    moves = (Transition(1, "r1", "classify", StepStatus.SUCCEEDED, T0 + 1),)
    return RunJournal(run, moves, gates, facts)


def test_mttr_and_the_review_from_the_journal() -> None:
    record = _record()
    marks = Milestones.of(record.facts)
    assert (marks.mttr, marks.severity) == (3600.0, "SEV2")
    params = IncidentParams(
        incident_id="INC-1", service="api", summary="errors", health_url="http://x/h"
    )
    text = review.render(record, params, ob.IncidentPolicy(), now=T0 + 4000)
    assert "**MTTR:** 1h 00m against the SEV2 target 4h: met." in text
    assert "| Acknowledged | 2026-12-02T09:31:00Z | 6m 00s |" in text
    assert "gate `acknowledge` answered **True** (terminal): Acknowledge? | bob |" in text
    assert "Given at the root-cause gate: disk full | logs" in text
    assert "| `incident.resolved` |  | 2026-12-02T10:25:00Z | carol | `r1` |" in text
    times = [ln.split(" | ")[0] for ln in text.splitlines() if ln.startswith("| 2026-")]
    assert times == sorted(times)  # the timeline is in time order


def test_an_open_incident_says_so_against_its_target() -> None:
    record = _record()
    unresolved = RunJournal(
        record.run,
        record.transitions,
        record.gates,
        tuple(f for f in record.facts if f.name != "incident.resolved"),
    )
    params = IncidentParams(
        incident_id="INC-1", service="api", summary="errors", health_url="http://x/h"
    )
    text = review.render(unresolved, params, ob.IncidentPolicy(), now=T0 + 7200 - 300)
    assert "**MTTR:** not resolved yet (2h 00m open); target 4h." in text


def test_detected_at_must_be_an_iso_time_with_a_zone() -> None:
    base = {"incident_id": "I-1", "service": "api", "summary": "s", "health_url": "http://x"}
    IncidentParams(**base, detected_at="2026-12-02T09:00:00Z")
    with pytest.raises(ValueError, match="is not an ISO 8601 time"):
        IncidentParams(**base, detected_at="yesterday")
    with pytest.raises(ValueError, match="has no time zone"):
        IncidentParams(**base, detected_at="2026-12-02T09:00:00")
