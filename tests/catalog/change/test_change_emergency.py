"""change.emergency: one lead approves, the change runs, the review ticket is owed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from change_kit import notify_settings

import opsbooks as ob
from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.webhook import RecordingWebhook
from opsbooks_playbooks.change.emergency import ChangeEmergency

pytestmark = pytest.mark.slow


def make_drill(tmp_path: Path, hook: RecordingWebhook, clock: FakeClock) -> Drill:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pool.conf").write_text("max_connections=100\n")
    return Drill(
        root=root,
        runbooks=(ChangeEmergency,),
        settings=notify_settings(hook),
        clock=clock,
        environ={"OPSBOOKS_USER": "oncall-lead-sam"},
    )


def params(**over: Any) -> dict[str, Any]:
    return {
        "change_id": "CHG-3001",
        "service": "billing-db",
        "summary": "raise the pool to 400: connections exhausted; it's urgent",
        "change_command": "sed -i 's/=100$/=400/' pool.conf",
        "rollback_command": "echo max_connections=100 > pool.conf",
        "verify_command": "grep -qx max_connections=400 pool.conf",
        "review_days": 3,
        **over,
    }


def test_approved_change_runs_and_schedules_the_review(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(ChangeEmergency, params(), answers={"approve": "CHG-3001"})
    result.assert_succeeded()
    assert (drill.root / "pool.conf").read_text() == "max_connections=400\n"
    ticket = json.loads((drill.root / "reviews" / "CHG-3001-review.json").read_text())
    due = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).date().isoformat()
    assert ticket["due"] == due and ticket["status"] == "open"
    assert ticket["run_id"] == result.run_id
    review = result.fact("change.review_due")
    assert review is not None and review.value == due
    approved, executed = result.fact("change.approved"), result.fact("change.executed")
    assert approved is not None and approved.who == "oncall-lead-sam"
    assert executed is not None and executed.at >= approved.at
    assert result.gates[0].approver == "oncall-lead-sam"
    assert f"Post-review due {due}" in webhook.texts()[-1]


def test_failed_verification_rolls_back_and_keeps_the_review(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(
        ChangeEmergency,
        params(change_command="sed -i 's/=100$/=40/' pool.conf"),  # the wrong value
        answers={"approve": "CHG-3001"},
    )
    assert result.outcome == "rolled_back"
    assert result.report.failed_step == "verify_change"
    result.assert_compensated("execute")
    assert (drill.root / "pool.conf").read_text() == "max_connections=100\n"
    assert (drill.root / "reviews" / "CHG-3001-review.json").exists()
    assert webhook.texts() == []


def test_declined_by_the_lead_changes_nothing(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(ChangeEmergency, params(), answers={"approve": False})
    assert result.outcome == "stopped" and result.exit_code == 3
    result.assert_not_ran("execute")
    assert not (drill.root / "reviews").exists()
    assert result.fact("change.approved") is None


def test_review_days_out_of_range_is_bad_input(
    tmp_path: Path, webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    with pytest.raises(
        ob.ParamsError, match="--review-days: input should be less than or equal to 30"
    ):
        drill.run(ChangeEmergency, params(review_days=90))
