"""SIGKILL the runner mid-step, then resume: the journal knows where the run stood."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import pytest
from enginekit import Project

pytestmark = pytest.mark.slow


def _wait_for(predicate: object, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _crash_in_two(project: Project, runbook: str) -> str:
    """Start a run, SIGKILL it while step ``two`` sleeps; return the run id."""
    runner = project.spawn("run", runbook)
    try:
        _wait_for(lambda: (project.root / "two.pid").exists(), "step two to start")
        run_id = project.last_run()
        refused = project.cli("run", runbook)
        assert refused.code == 2, refused.both
        assert f"already running as run {run_id}" in refused.err
        audits = sorted(p.name for p in (project.root / ".opsbooks" / "runs").iterdir())
        assert audits == [f"{run_id}.jsonl"]  # the refused run left no audit file behind
        assert [r[0] for r in project.runs()] == [run_id]
        os.killpg(runner.pid, signal.SIGKILL)
        runner.wait(timeout=10)
    finally:
        if runner.poll() is None:
            runner.kill()
        runner.communicate()
    child = int((project.root / "two.pid").read_text())
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child, signal.SIGKILL)  # the command ran in its own session
    (project.root / "two.pid").unlink()
    assert project.ledger == ["one", "two"]
    assert project.statuses(run_id)["two"] == "running"
    return run_id


def test_crash_then_new_run_needs_force(project: Project) -> None:
    run_id = _crash_in_two(project, "eng.crash")
    refused = project.cli("run", "eng.crash")
    assert refused.code == 2
    assert run_id in refused.err and "--force" in refused.err and "is gone" in refused.err
    project.write("quick", "")
    forced = project.cli("run", "eng.crash", "--force")
    assert forced.code == 0, forced.both
    assert project.outcome(run_id) == "interrupted"  # not "running" forever
    assert f"took the lock of run {run_id}" in forced.out


def test_resume_asks_about_a_non_idempotent_step_in_flight(project: Project) -> None:
    run_id = _crash_in_two(project, "eng.crash")
    project.write("quick", "")
    unanswered = project.cli("resume", run_id)
    assert unanswered.code == 3, unanswered.both
    assert "resume:two" in unanswered.both
    project.write("abort.yaml", "'resume:two': abort\n")
    aborted = project.cli("resume", run_id, "--answers", "abort.yaml")
    assert aborted.code == 3, aborted.both
    assert project.ledger == ["one", "two"]
    project.write("done.yaml", "'resume:two': mark-done\n")
    done = project.cli("resume", run_id, "--answers", "done.yaml")
    assert done.code == 0, done.both
    assert project.ledger == ["one", "two", "three"]
    assert project.outcome(run_id) == "succeeded"


def test_resume_rerun_answer_runs_the_step_again(project: Project) -> None:
    run_id = _crash_in_two(project, "eng.crash")
    project.write("quick", "")
    project.write("rerun.json", '{"resume:two": "re-run"}')
    done = project.cli("resume", run_id, "--answers", "rerun.json")
    assert done.code == 0, done.both
    assert project.ledger == ["one", "two", "two", "three"]


def test_idempotent_step_in_flight_reruns_without_asking(project: Project) -> None:
    run_id = _crash_in_two(project, "eng.crash_idem")
    project.write("quick", "")
    done = project.cli("resume", run_id)
    assert done.code == 0, done.both
    assert project.ledger == ["one", "two", "two", "three"]
    assert "idempotent" in done.out


def test_resume_of_a_live_run_is_refused(project: Project) -> None:
    runner = project.spawn("run", "eng.crash")
    try:
        _wait_for(lambda: (project.root / "two.pid").exists(), "step two to start")
        run_id = project.last_run()
        refused = project.cli("resume", run_id)
        assert refused.code == 2, refused.both
        assert run_id in refused.err
        forced = project.cli("run", "eng.crash", "--force")
        assert forced.code == 2, forced.both
        assert run_id in forced.err and "still alive" in forced.err
    finally:
        os.killpg(runner.pid, signal.SIGTERM)
        os.killpg(int((project.root / "two.pid").read_text()), signal.SIGKILL)
        try:
            runner.wait(timeout=10)
        except subprocess.TimeoutExpired:
            runner.kill()
        runner.communicate()


def test_second_ctrl_c_abandons_the_step_and_resume_asks(project: Project) -> None:
    runner = project.spawn("run", "eng.crash")
    try:
        _wait_for(lambda: (project.root / "two.pid").exists(), "step two to start")
        os.kill(runner.pid, signal.SIGINT)
        time.sleep(0.3)
        os.kill(runner.pid, signal.SIGINT)
        out, err = runner.communicate(timeout=10)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    assert runner.returncode == 3, out + err
    assert "abandon" in err
    run_id = project.last_run()
    assert project.outcome(run_id) == "interrupted"
    assert project.statuses(run_id)["two"] == "stopped"
    project.write("quick", "")
    asked = project.cli("resume", run_id)
    assert asked.code == 3 and "resume:two" in asked.both
    project.write("done.yaml", "'resume:two': mark-done\n")
    done = project.cli("resume", run_id, "--answers", "done.yaml")
    assert done.code == 0, done.both
    assert project.ledger == ["one", "two", "three"]
