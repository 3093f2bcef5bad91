"""The public drill harness, used the way a runbook author would use it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from opsbooks import Command, Field, Gate, Params, Poll, Runbook, Verify, WaitUntil
from opsbooks.errors import ParamsError
from opsbooks.testing import Drill, FakeClock


class Rehearsal(Runbook):
    """Create a marker, wait for it, verify it; undo removes it."""

    name = "drills.rehearsal"
    scope = "harness tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)
    rto = "1m"
    rto_steps = ("approve", "check")

    class Params(Params):
        label: str = Field(description="text written into the marker")

    create = Command("printf '%s\\n' {label} >> ledger.txt", undo="remove")
    remove = Command("echo undone >> ledger.txt")
    approve = Gate.confirm("Go ahead with {label}?")
    appear = WaitUntil("test -s ledger.txt", poll=Poll(interval=30, timeout=600))
    report = Command("echo '::metric rpo_seconds=12.5'")
    check = Verify("grep -q -- {label} ledger.txt", expect="the marker holds the label")


@pytest.fixture
def rehearsal(tmp_path: Path, fake_clock: FakeClock) -> Drill:
    return Drill(root=tmp_path, clock=fake_clock, runbooks=(Rehearsal,))


@pytest.mark.slow
def test_drill_runs_for_real_with_scripted_answers(rehearsal: Drill, tmp_path: Path) -> None:
    result = rehearsal.run("drills.rehearsal", {"label": "a; rm -rf /"}, answers={"approve": True})
    result.assert_succeeded()
    for step in ("create", "approve", "appear", "report", "check"):
        result.assert_succeeded_step(step)
    assert (tmp_path / "ledger.txt").read_text() == "a; rm -rf /\n"
    assert result.gates[0].approver == "drill"
    assert result.rpo == 12.5
    assert result.rto is not None and result.metrics["rto_met"] is True


@pytest.mark.slow
def test_injected_failure_rehearses_the_rollback(rehearsal: Drill, tmp_path: Path) -> None:
    result = rehearsal.run(
        "drills.rehearsal",
        {"label": "x"},
        answers={"approve": True},
        fail={"check": "pretend the verification failed"},
    )
    assert result.outcome == "rolled_back"
    assert result.exit_code == 1
    result.assert_compensated("create")
    assert (tmp_path / "ledger.txt").read_text() == "x\nundone\n"
    assert "injected failure" in result.report.reason


@pytest.mark.slow
def test_missing_answer_stops_and_resume_finishes(rehearsal: Drill) -> None:
    stopped = rehearsal.run("drills.rehearsal", {"label": "y"})
    assert stopped.outcome == "stopped" and stopped.exit_code == 3
    result = rehearsal.resume(stopped.run_id, answers={"approve": True})
    result.assert_succeeded()
    assert result.history("create") == ["running", "succeeded"]


def test_bad_params_raise_before_anything_runs(rehearsal: Drill, tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="--label: is required"):
        rehearsal.run("drills.rehearsal", {})
    assert not (tmp_path / "ledger.txt").exists()


@pytest.mark.slow
def test_polls_use_the_fake_clock(tmp_path: Path) -> None:
    clock = FakeClock()

    class Slow(Runbook):
        """Wait for a file that never comes."""

        name = "drills.slow"
        scope = "harness tests"
        owner = "sre"
        last_reviewed = dt.date(2026, 11, 1)
        wait = WaitUntil("test -e never", poll=Poll(interval=60, timeout=300))

    result = Drill(root=tmp_path, clock=clock, runbooks=(Slow,)).run("drills.slow")
    assert result.outcome == "failed"
    assert clock.sleeps == [60, 60, 60, 60]
    assert "after 5 checks" in result.report.reason


def test_plugin_fixtures_are_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("opsbooks")


@pytest.mark.slow
def test_result_exposes_the_run_record_and_a_verifiable_audit_trail(rehearsal: Drill) -> None:
    result = rehearsal.run("drills.rehearsal", {"label": "z"}, answers={"approve": True})
    assert result.record.outcome == "succeeded" and result.record.who == "drill"
    result.assert_audit_intact()
    lines = result.audit_path.read_text().splitlines()
    result.audit_path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(AssertionError, match="does not verify"):
        result.assert_audit_intact()
