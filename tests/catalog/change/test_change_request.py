"""change.request: risk classes, approvals by role, the window and freezes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from change_kit import notify_settings, utc

import opsbooks as ob
from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.webhook import RecordingWebhook
from opsbooks_playbooks.actions.change import (
    ChangeRefused,
    Freeze,
    check_window,
    classify_risk,
    parse_utc,
    read_freezes,
)
from opsbooks_playbooks.change.request import ChangeRequest

APPROVALS = ("director_approval", "cab_approval", "owner_approval")
AFTER = {"implement": "done", "verify": True}


@pytest.mark.parametrize(
    ("blast", "reverse", "data", "risk"),
    [
        ("host", "instant", "none", "low"),
        ("service", "instant", "none", "medium"),
        ("host", "rollback", "config", "medium"),
        ("service", "rollback", "config", "high"),  # three medium factors add up
        ("host", "instant", "customer", "high"),
        ("platform", "instant", "none", "high"),
        ("host", "irreversible", "none", "high"),
    ],
)
def test_classify_risk(blast: str, reverse: str, data: str, risk: str) -> None:
    assert classify_risk(blast, reverse, data) == risk


def test_classify_refuses_an_unknown_factor() -> None:
    with pytest.raises(ValueError, match="unknown blast radius 'galaxy'; valid: host, service"):
        classify_risk("galaxy", "instant", "none")


def test_window_rules() -> None:
    start, end = parse_utc("2026-12-02T22:00Z", "s"), parse_utc("2026-12-03T02:00Z", "e")
    inside = parse_utc("2026-12-02T23:00Z", "now")
    assert "inside the window" in check_window(start, end, inside)
    with pytest.raises(ChangeRefused, match=r"before the change window opens at 2026-12-02T22:00"):
        check_window(start, end, parse_utc("2026-12-02T21:59Z", "now"))
    with pytest.raises(ChangeRefused, match=r"after the change window closed at 2026-12-03T02:00"):
        check_window(start, end, end)
    with pytest.raises(ChangeRefused, match=r"ends .* before it starts"):
        check_window(end, start, inside)
    freeze = Freeze(parse_utc("2026-12-03T01:00Z", "f"), end + dt.timedelta(days=9), "year end")
    with pytest.raises(ChangeRefused, match=r"overlaps the change freeze .*\(year end\)"):
        check_window(start, end, inside, [freeze])


def test_bad_freeze_table_names_the_entry() -> None:
    with pytest.raises(ValueError, match=r"freezes\[0\] needs start and end"):
        read_freezes({"freezes": [{"start": "2026-12-20T00:00Z"}]})
    with pytest.raises(ValueError, match=r"freezes\[0\].end '2027-01-02' is not an ISO-8601"):
        read_freezes({"freezes": [{"start": "2026-12-20T00:00Z", "end": "2027-01-02"}]})


def params(**over: Any) -> dict[str, Any]:
    return {
        "change_id": "CHG-1234",
        "window_start": utc(minutes=-5),
        "window_end": utc(hours=3),
        "service": "billing-api",
        "summary": "rotate the TLS certificate",
        "blast_radius": "host",
        "reversibility": "instant",
        "data_touched": "none",
        **over,
    }


def make_drill(tmp_path: Path, hook: RecordingWebhook, clock: FakeClock, **extra: Any) -> Drill:
    return Drill(
        root=tmp_path,
        runbooks=(ChangeRequest,),
        settings=notify_settings(hook, **extra),
        clock=clock,
        environ={"OPSBOOKS_USER": "owner-kim"},
    )


@pytest.mark.slow
def test_low_risk_needs_only_the_service_owner(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(ChangeRequest, params(), answers={"owner_approval": True, **AFTER})
    result.assert_succeeded()
    assert "-> risk low; approvals needed: service owner" in result.output
    result.assert_skipped("director_approval")
    result.assert_skipped("cab_approval")
    approved, executed = result.fact("change.approved"), result.fact("change.executed")
    assert approved is not None and approved.who == "owner-kim"
    assert executed is not None and executed.at >= approved.at
    assert "approved (risk low)" in webhook.texts()[0]
    assert "done and verified" in webhook.texts()[-1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("factors", "asked"),
    [
        ({"blast_radius": "service"}, ("cab_approval", "owner_approval")),
        ({"data_touched": "customer"}, APPROVALS),
    ],
    ids=["medium", "high"],
)
def test_higher_risk_adds_approvers(
    tmp_path: Path,
    webhook: RecordingWebhook,
    fake_clock: FakeClock,
    factors: dict[str, str],
    asked: tuple[str, ...],
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    answers = {gate: True for gate in APPROVALS} | AFTER
    result = drill.run(ChangeRequest, params(**factors), answers=answers)
    result.assert_succeeded()
    decided = [g.step_id for g in result.gates if g.step_id in APPROVALS]
    assert decided == list(asked)
    assert all(g.approver == "owner-kim" for g in result.gates)
    for gate in set(APPROVALS) - set(asked):
        result.assert_skipped(gate)
    approvals = [(f.step_id, f.who) for f in result.facts if f.name == "change.approved"]
    assert approvals == [(gate, "owner-kim") for gate in asked]  # every approval recorded


@pytest.mark.slow
def test_board_declines_and_the_run_stops(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(
        ChangeRequest, params(blast_radius="service"), answers={"cab_approval": False}
    )
    assert result.outcome == "stopped" and result.exit_code == 3
    result.assert_not_ran("implement")
    assert result.fact("change.approved") is None and webhook.texts() == []


@pytest.mark.slow
def test_outside_the_window_refuses_with_the_times(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    start, end = utc(hours=-6), utc(hours=-2)
    result = drill.run(ChangeRequest, params(window_start=start, window_end=end))
    assert result.report.failed_step == "window"
    assert f"after the change window closed at {end}" in result.output
    assert f"(it opened at {start})" in result.output
    result.assert_not_ran("owner_approval")


@pytest.mark.slow
def test_a_configured_freeze_refuses(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    freeze = {"start": utc(hours=1), "end": utc(days=10), "reason": "year-end freeze"}
    settings = {"settings": {"change": {"freezes": [freeze]}}}
    drill = make_drill(tmp_path, webhook, fake_clock, **settings)
    result = drill.run(ChangeRequest, params())
    assert result.report.failed_step == "window"
    assert "overlaps the change freeze" in result.output and "year-end freeze" in result.output
    result.assert_not_ran("owner_approval")


@pytest.mark.slow
def test_emergency_hands_over_without_approvals(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(ChangeRequest, params(urgency="emergency"))
    result.assert_succeeded()
    diagnosis = result.fact("diagnosis")
    assert diagnosis is not None and diagnosis.value == "hand_over"
    assert "opsbooks run change.emergency --change-id CHG-1234" in result.output
    result.assert_not_ran("window")
    result.assert_not_ran("owner_approval")


def test_bad_input_is_refused_before_anything_runs(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    with pytest.raises(ob.ParamsError, match=r"window_end .* is not after window_start"):
        drill.run(ChangeRequest, params(window_start=utc(hours=2), window_end=utc(hours=1)))
    with pytest.raises(ob.ParamsError, match="--blast-radius"):
        drill.run(ChangeRequest, params(blast_radius="galaxy"))
    with pytest.raises(ob.ParamsError, match="--window-start"):
        drill.run(ChangeRequest, params(window_start="tomorrow 22:00"))
    with pytest.raises(ob.ParamsError, match="--change-id"):
        drill.run(ChangeRequest, params(change_id="1234; rm -rf /"))
