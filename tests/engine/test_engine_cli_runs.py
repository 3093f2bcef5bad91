"""Runs through the real ``opsbooks`` program in a subprocess, read back from the journal."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from enginekit import Project, make_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses


def test_basic_runbook_runs_end_to_end(project: Project) -> None:
    done = project.cli("run", "eng.basic", "--yes")
    assert done.code == 0, done.both
    assert project.ledger == ["prepare blue", "finish"]
    run_id = project.last_run()
    assert project.statuses(run_id) == {
        "prepare": "succeeded",
        "approve": "succeeded",
        "settle": "succeeded",
        "finish": "succeeded",
    }
    history = project.cli("history")
    assert history.code == 0 and run_id in history.out and "eng.basic" in history.out
    assert "succeeded" in history.out and "test-operator" in history.out
    data = project.report(run_id)
    steps = {s["step"]: s for s in data["steps"]}
    assert steps["prepare"]["command"] == "echo prepare blue >> ledger.txt"
    assert steps["prepare"]["exit_code"] == 0 and steps["finish"]["exit_code"] == 0
    (gate,) = data["gates"]
    assert gate["step_id"] == "approve" and gate["answer"] is True
    assert gate["approver"] == "test-operator" and gate["source"] == "--yes"
    assert data["run"]["outcome"] == "succeeded" and data["run"]["who"] == "test-operator"
    verified = project.cli("audit", "verify", run_id)
    assert verified.code == 0, verified.both
    markdown = project.cli("report", run_id)
    assert markdown.code == 0 and "eng.basic" in markdown.out


def test_failure_rolls_back_in_reverse_and_says_how_to_resume(project: Project) -> None:
    project.write("ub_fails", "")
    done = project.cli("run", "eng.fails")
    assert done.code == 1, done.both
    assert project.ledger == ["a", "b", "c", "undo-b", "undo-a"]
    run_id = project.last_run()
    history = [(s, st) for s, st, _ in project.transitions(run_id)]
    assert ("b", "compensation_failed") in history and ("a", "compensated") in history
    assert history.index(("b", "compensation_failed")) < history.index(("a", "compensated"))
    assert ("e", "running") not in history
    assert "step d" in done.out and "exit code 7" in done.out
    assert "boom-on-stderr" in done.out
    assert f"opsbooks resume {run_id}" in done.out
    with project.db() as db:
        failed_step, reason = db.execute(
            "SELECT failed_step, reason FROM runs WHERE id=?", (run_id,)
        ).fetchone()
        (tail,) = db.execute(
            "SELECT output_tail FROM transitions WHERE run_id=? AND "
            "step_id='d' AND status='failed'",
            (run_id,),
        ).fetchone()
    assert failed_step == "d" and "exit code 7" in reason and "boom-on-stderr" in tail
    report = project.cli("report", run_id).out
    assert "at step `d`" in report and "exit code 7" in report
    assert f"To resume: `opsbooks resume {run_id}`" in report


def test_no_rollback_skips_the_undo_steps(project: Project) -> None:
    done = project.cli("run", "eng.fails", "--no-rollback")
    assert done.code == 1, done.both
    assert project.ledger == ["a", "b", "c"]
    statuses = [st for _, st, _ in project.transitions(project.last_run())]
    assert "compensated" not in statuses and "compensation_failed" not in statuses


def test_resume_after_failure_never_reruns_succeeded_steps(project: Project) -> None:
    assert project.cli("run", "eng.fails", "--no-rollback").code == 1
    run_id = project.last_run()
    project.write("fixed", "")
    done = project.cli("resume", run_id)
    assert done.code == 0, done.both
    assert project.ledger == ["a", "b", "c", "d", "e"]
    assert project.outcome(run_id) == "succeeded"
    again = project.cli("resume", run_id)
    assert again.code == 2 and "already succeeded" in again.err


def test_mark_done_records_who_and_why(project: Project) -> None:
    assert project.cli("run", "eng.fails", "--no-rollback").code == 1
    run_id = project.last_run()
    refused = project.cli("resume", run_id, "--mark-done", "d")
    assert refused.code == 2 and "--reason" in refused.err
    done = project.cli("resume", run_id, "--mark-done", "d", "--reason", "ran it by hand")
    assert done.code == 0, done.both
    assert project.ledger == ["a", "b", "c", "e"]
    with project.db() as db:
        who, reason = db.execute(
            "SELECT who, reason FROM transitions WHERE run_id=? AND step_id='d' AND "
            "status='succeeded'",
            (run_id,),
        ).fetchone()
    assert who == "test-operator" and "ran it by hand" in reason


def test_dry_run_prints_the_plan_and_runs_nothing(project: Project) -> None:
    done = project.cli("run", "eng.basic", "--dry-run", "--target", "it's green")
    assert done.code == 0, done.both
    assert not (project.root / "created.txt").exists()
    assert not (project.root / "ledger.txt").exists()
    for text in (
        "1. prepare",
        "2. approve",
        "3. settle",
        "4. finish",
        "undo unprepare: $ echo unprepare >> ledger.txt",
        "$ echo prepare 'it'\"'\"'s green' >> ledger.txt",
        "asks to confirm: Deploy to it's green?",
        "$ touch created.txt",
    ):
        assert text in done.out, text
    assert project.runs() == []


def test_start_at_and_skip_are_recorded(project: Project) -> None:
    done = project.cli("run", "eng.fails", "--start-at", "b", "--skip", "d")
    assert done.code == 0, done.both
    assert project.ledger == ["b", "c", "e"]
    run_id = project.last_run()
    options = project.report(run_id)["run"]["options"]
    assert options["start_at"] == "b" and options["skip"] == ["d"]
    reasons = {s: r for s, st, r in project.transitions(run_id) if st == "skipped"}
    assert set(reasons) == {"a", "d"} and all(reasons.values())


def test_bad_params_exit_2_with_one_line_per_field_and_no_run(project: Project) -> None:
    done = project.cli("run", "eng.versioned", "--version", "banana", "--replicas", "many")
    assert done.code == 2, done.both
    lines = [ln.strip() for ln in done.err.splitlines()]
    assert any(ln.startswith("--version: must match") and "banana" in ln for ln in lines), done.err
    assert any(ln.startswith("--replicas:") for ln in lines), done.err
    assert not (project.root / "ran.txt").exists()
    assert project.runs() == []


def test_when_branch_and_notify(project: Project, webhook: list[bytes]) -> None:
    done = project.cli("run", "eng.flow", "--color", "green")
    assert done.code == 0, done.both
    assert project.ledger == ["green"]
    reasons = {s: r for s, st, r in project.transitions(project.last_run()) if st == "skipped"}
    assert set(reasons) == {"loud_step", "to_blue"}
    assert "loud" in reasons["loud_step"]
    assert "routed to to_green" in reasons["to_blue"]
    assert "deployed green to file" in (project.root / "notes.log").read_text()
    assert "deployed green to stdout" in done.out
    (body,) = webhook
    assert b"deployed green to hook" in body


def test_webhook_500_fails_the_step(tmp_path: Path) -> None:
    from engine_webhooks import serve

    with serve(status=500) as (url, _bodies):
        (tmp_path / "p500").mkdir()
        project = make_project(tmp_path / "p500", _notify_toml(url))
        done = project.cli("run", "eng.flow", "--loud")
    assert done.code == 1, done.both
    assert project.ledger == ["loud", "green"]
    assert "tell_hook" in done.out and "HTTP 500" in done.out


def _notify_toml(url: str) -> str:
    return (
        '[tool.opsbooks.notify.file]\ntype = "file"\npath = "notes.log"\n'
        '[tool.opsbooks.notify.out]\ntype = "stdout"\n'
        f'[tool.opsbooks.notify.hook]\ntype = "webhook"\nurl = "{url}"\n'
    )


@pytest.fixture
def webhook(project: Project) -> object:
    from engine_webhooks import serve

    with serve(status=200) as (url, bodies):
        pyproject = project.root / "pyproject.toml"
        pyproject.write_text(pyproject.read_text() + _notify_toml(url))
        yield bodies


def test_timeout_kills_the_whole_process_group(project: Project) -> None:
    started = time.monotonic()
    done = project.cli("run", "eng.timeout", timeout=20)
    took = time.monotonic() - started
    assert done.code == 1, done.both
    assert "timed out after 1s" in done.out
    assert took < 6, took
    with project.db() as db:
        (duration,) = db.execute(
            "SELECT duration FROM transitions WHERE step_id='hang' AND status='failed'"
        ).fetchone()
    assert 0.9 < duration < 2.5, duration
    pid = int((project.root / "gc.pid").read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"grandchild {pid} still alive")


def test_commands_get_no_stdin_unless_given(project: Project) -> None:
    done = project.cli("run", "eng.stdin", stdin="typed by the operator\n", timeout=15)
    assert done.code == 0, done.both
    assert (project.root / "no_input.txt").read_text() == ""
    assert (project.root / "given.txt").read_text() == "hello from stdin\n"


def test_retry_succeeds_on_the_third_attempt(project: Project) -> None:
    done = project.cli("run", "eng.retry")
    assert done.code == 0, done.both
    assert (project.root / "count").read_text().strip() == "3"
    (step,) = project.report(project.last_run())["steps"]
    assert step["status"] == "succeeded" and step["attempts"] == 3


def test_resume_after_rollback_reruns_the_undone_steps(project: Project) -> None:
    done = project.cli("run", "eng.fails")
    assert done.code == 1, done.both
    run_id = project.last_run()
    assert project.outcome(run_id) == "rolled_back"
    project.write("fixed", "")
    resumed = project.cli("resume", run_id)
    assert resumed.code == 0, resumed.both
    # a and b were undone, so they run again; c had no undo and still stands.
    assert project.ledger == ["a", "b", "c", "undo-b", "undo-a", "a", "b", "d", "e"]


def test_verify_that_does_not_hold_fails_the_run(project: Project) -> None:
    done = project.cli(
        "run",
        "eng.flow",
        "--skip",
        "tell_hook",
        "--skip",
        "tell_file",
        "--skip",
        "tell_out",
        "--skip",
        "to_green",
        "--color",
        "blue",
    )
    assert done.code == 0, done.both  # the ledger exists: blue ran
    (project.root / "ledger.txt").unlink()
    failed = project.cli("run", "eng.flow", "--start-at", "done")
    assert failed.code == 1, failed.both
    assert "check did not hold" in failed.out and "the ledger exists" in failed.out


def test_resume_with_a_changed_definition_asks_first(project: Project) -> None:
    assert project.cli("run", "eng.fails", "--no-rollback").code == 1
    run_id = project.last_run()
    source = project.root / "engbooks" / "core.py"
    source.write_text(source.read_text().replace('e = Command(log("e"))', 'e = Command(log("e2"))'))
    project.write("fixed", "")
    refused = project.cli("resume", run_id)
    assert refused.code == 2, refused.both
    assert "definition changed" in refused.err
    assert project.ledger == ["a", "b", "c"]
    done = project.cli("resume", run_id, "--yes")
    assert done.code == 0, done.both
    assert project.ledger == ["a", "b", "c", "d", "e2"]
    assert "resume:definition" in project.gates(run_id)
