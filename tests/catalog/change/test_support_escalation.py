"""support.escalation: the ticket's age against the policy's response target decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from change_kit import CONTACTS, notify_settings, utc

from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.webhook import RecordingWebhook
from opsbooks_playbooks.support.escalation import SupportEscalation, decide


def test_decide_moves_up_only_past_the_target() -> None:
    assert decide(16 * 60, 15 * 60, "L1", "L2") == "L2"
    assert decide(14 * 60, 15 * 60, "L1", "L2") == "L1"
    assert decide(99 * 3600, 3600, "L3", None) == "L3"  # the top level keeps it


def make_drill(tmp_path: Path, hook: RecordingWebhook, clock: FakeClock, **extra: Any) -> Drill:
    root = tmp_path / "proj"
    root.mkdir()
    return Drill(
        root=root,
        runbooks=(SupportEscalation,),
        settings=notify_settings(hook, **extra),
        clock=clock,
        environ={"OPSBOOKS_USER": "l1-alex"},
    )


def params(**over: Any) -> dict[str, Any]:
    return {"ticket_id": "SUP-4711", "summary": "exports time out for ACME", **over}


@pytest.mark.slow
def test_overdue_l1_ticket_pages_l2_and_records_who_took_it(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    answers = {"take": "priya", "hand_over": "done"}
    result = drill.run(SupportEscalation, params(opened_at=utc(minutes=-40)), answers=answers)
    result.assert_succeeded()
    assert "40 min old; L1 (Ops on-call) has 15m to respond -> escalate to L2" in result.output
    page = webhook.texts()[0]
    assert "SUP-4711 escalated to L2" in page and CONTACTS["L2"] in page
    escalated = result.fact("incident.escalated")
    assert escalated is not None and escalated.value == "L2"
    taken = result.fact("incident.acknowledged")
    assert taken is not None and taken.who == "l1-alex"
    take = next(g for g in result.gates if g.step_id == "take")
    assert take.answer == "priya" and take.approver == "l1-alex"
    assert "owned by priya at L2" in webhook.texts()[-1]


@pytest.mark.slow
def test_fresh_ticket_stays_and_pages_nobody(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    answers = {"take": "alex", "hand_over": "done"}
    result = drill.run(SupportEscalation, params(opened_at=utc(minutes=-5)), answers=answers)
    result.assert_succeeded()
    result.assert_skipped("page")
    result.assert_skipped("escalated")
    assert result.fact("incident.escalated") is None
    assert len(webhook.texts()) == 1 and "owned by alex at L1" in webhook.texts()[0]


@pytest.mark.slow
def test_policy_targets_come_from_the_configuration(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    levels = {
        "L1": {"title": "Service desk", "contact": "L1", "response": "4h", "runbook": "x.l1"},
        "L2": {"title": "Platform", "contact": "L2", "response": "8h", "runbook": "x.l2"},
    }
    drill = make_drill(tmp_path, webhook, fake_clock, incidents={"levels": levels})
    answers = {"take": "alex", "hand_over": "done"}
    result = drill.run(SupportEscalation, params(opened_at=utc(hours=-1)), answers=answers)
    result.assert_succeeded()
    assert "L1 (Service desk) has 4h to respond -> stays at L1" in result.output


@pytest.mark.slow
def test_missing_contact_of_the_next_level_fails_naming_the_key(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    drill.settings = {**drill.settings, "contacts": {"L1": CONTACTS["L1"], "L2": CONTACTS["L2"]}}
    result = drill.run(SupportEscalation, params(opened_at=utc(hours=-2), level="L2"))
    assert result.report.failed_step == "contact"
    assert "escalation level L3 has no contact: add L3" in result.output
    assert "Traceback" not in result.output
    assert webhook.texts() == []


def test_unknown_level_and_local_time_are_bad_input(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    import opsbooks as ob

    drill = make_drill(tmp_path, webhook, fake_clock)
    with pytest.raises(ob.ParamsError, match="--level"):
        drill.run(SupportEscalation, params(opened_at=utc(minutes=-5), level="L4"))
    with pytest.raises(ob.ParamsError, match="--opened-at"):
        drill.run(SupportEscalation, params(opened_at="2026-12-02 08:15"))


def test_levels_and_the_opening_time_are_checked_against_the_policy_before_a_run(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    import opsbooks as ob

    levels = {
        "T1": {"title": "Service desk", "contact": "L1", "response": "4h", "runbook": "x.t1"},
        "T2": {"title": "Platform", "contact": "L2", "response": "8h", "runbook": "x.t2"},
    }
    drill = make_drill(tmp_path, webhook, fake_clock, incidents={"levels": levels})
    with pytest.raises(
        ob.ParamsError, match="'L3' is not a level of the incident policy; valid: T1, T2"
    ):
        drill.run(SupportEscalation, params(opened_at=utc(minutes=-5), level="L3"))
    with pytest.raises(
        ob.ParamsError, match="--opened-at: ticket SUP-4711 was opened in the future"
    ):
        drill.run(SupportEscalation, params(opened_at=utc(hours=2), level="T1"))
    journal = drill.journal()
    try:
        assert journal.runs() == []  # refused before a run was created
    finally:
        journal.close()
