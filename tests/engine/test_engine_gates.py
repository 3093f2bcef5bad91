"""Gates through a real pseudo-terminal, answers files, --yes and no terminal at all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pexpect
import pytest
from enginekit import Project

pytestmark = pytest.mark.slow


def _spawn(project: Project, *args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "opsbooks", *args],
        cwd=str(project.root),
        env=project.env(env),
        encoding="utf-8",
        timeout=15,
        dimensions=(40, 200),
    )
    return child


def _finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, child.signalstatus
    return int(child.exitstatus)


def test_terminal_gates_validate_and_reask(project: Project) -> None:
    child = _spawn(project, "run", "eng.gates", "--environment", "prod-eu")
    child.expect("environment=prod-eu")  # the context: params and what ran before
    child.expect("done so far: first")
    child.expect("Proceed in prod-eu")
    child.expect(r"answering as test-operator")
    child.expect(r"Approve\? \[y/n\]: ")
    child.sendline("maybe")
    child.expect("answer yes or no")
    child.expect(r"Approve\? \[y/n\]: ")
    child.sendline("y")
    child.expect("Which colour")
    child.expect("Choice: ")
    child.sendline("purple")
    child.expect("choose one of: blue, green")
    child.sendline("2")
    child.expect("How many replicas")
    child.expect("Answer: ")
    child.sendline("lots")
    child.expect("expected a int")
    child.sendline("3")
    child.expect("Type 'prod-eu' to confirm: ")
    child.sendline("y")
    child.expect("type exactly 'prod-eu'")
    child.sendline("prod-eu")
    assert _finish(child) == 0
    assert project.ledger == ["first", "last"]
    gates = project.gates(project.last_run())
    assert gates["pick"]["answer"] == "green" and gates["count"]["answer"] == 3
    assert gates["destroy"]["answer"] is True
    assert {g["approver"] for g in gates.values()} == {"test-operator"}
    assert {g["source"] for g in gates.values()} == {"terminal"}


def test_declined_confirmation_stops_resumably(project: Project) -> None:
    child = _spawn(project, "run", "eng.gates")
    child.expect(r"Approve\? \[y/n\]: ")
    child.sendline("n")
    assert _finish(child) == 3
    run_id = project.last_run()
    assert project.outcome(run_id) == "stopped"
    assert project.ledger == ["first"]
    project.write("answers.yaml", "go: yes\npick: blue\ncount: 2\ndestroy: staging\n")
    done = project.cli("resume", run_id, "--answers", "answers.yaml")
    assert done.code == 0, done.both
    assert project.ledger == ["first", "last"]


def test_terminal_lost_at_a_gate_leaves_the_run_resumable(project: Project) -> None:
    child = _spawn(project, "run", "eng.gates")
    child.expect(r"Approve\? \[y/n\]: ")
    child.close(force=True)  # the terminal goes away: SIGHUP, then EOF on stdin
    deadline = time.monotonic() + 10
    run_id = project.last_run()
    while time.monotonic() < deadline:
        outcome = project.outcome(run_id)
        if outcome != "running":
            break
        time.sleep(0.1)
    assert outcome in ("stopped", "interrupted"), outcome
    project.write("answers.yaml", "go: yes\npick: blue\ncount: 2\ndestroy: staging\n")
    done = project.cli("resume", run_id, "--answers", "answers.yaml")
    assert done.code == 0, done.both


def test_step_mode_continue_skip_abort(project: Project) -> None:
    child = _spawn(project, "run", "eng.fails", "--step", "--no-rollback")
    child.expect("Next: a")
    child.expect("Choice: ")
    child.sendline("continue")
    child.expect("Next: b")
    child.sendline("skip")
    child.expect("Next: c")
    child.sendline("abort")
    assert _finish(child) == 3
    assert project.ledger == ["a"]
    statuses = project.statuses(project.last_run())
    assert (statuses["b"] == "skipped" and "c" not in statuses) or statuses["c"] != "succeeded"


def test_answers_files_yaml_and_json(project: Project) -> None:
    project.write("a.yaml", "go: yes\npick: blue\ncount: '4'\ndestroy: staging\n")
    assert project.cli("run", "eng.gates", "--answers", "a.yaml").code == 0
    project.write("a.json", '{"go": true, "pick": "green", "count": 5, "destroy": "staging"}')
    done = project.cli("run", "eng.gates", "--answers", "a.json")
    assert done.code == 0, done.both
    gates = project.gates(project.last_run())
    assert gates["count"]["answer"] == 5 and gates["pick"]["answer"] == "green"
    assert gates["go"]["source"] == "answers"


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("go: [unclosed\n", "bad.yaml", "does not parse"),
        ('{"go": tru', "bad.json", "does not parse"),
        ("nope: yes\n", "unknown.yaml", "nope: not a gate"),
        ("count: many\n", "wrong.yaml", "count: expected a int"),
        ("pick: purple\n", "choice.yaml", "pick: choose one of"),
        ("destroy: y\n", "phrase.yaml", "destroy: type exactly 'staging'"),
    ],
)
def test_bad_answers_file_exits_2_before_anything_runs(
    project: Project, text: str, name: str, message: str
) -> None:
    project.write(name, text)
    done = project.cli("run", "eng.gates", "--answers", name)
    assert done.code == 2, done.both
    assert message in done.err
    assert project.ledger == []
    assert project.runs() == []


def test_yes_approves_confirmations_only(project: Project) -> None:
    done = project.cli("run", "eng.gates", "--yes")
    assert done.code == 3, done.both
    run_id = project.last_run()
    gates = project.gates(run_id)
    assert gates["go"]["source"] == "--yes" and "pick" not in gates
    assert "pick" in done.both and "--answers" in done.both
    project.write("rest.yaml", "pick: blue\ncount: 1\ndestroy: staging\n")
    resumed = project.cli("resume", run_id, "--answers", "rest.yaml")
    assert resumed.code == 0, resumed.both
    assert project.ledger == ["first", "last"]


def test_no_terminal_and_no_answer_stops_with_exit_3(project: Project) -> None:
    done = project.cli("run", "eng.basic")
    assert done.code == 3, done.both
    assert "approve" in done.both and "no terminal" in done.both
    run_id = project.last_run()
    assert f"opsbooks resume {run_id}" in done.out
    project.write("ok.yaml", "approve: yes\n")
    resumed = project.cli("resume", run_id, "--answers", "ok.yaml")
    assert resumed.code == 0, resumed.both
    assert project.ledger == ["prepare blue", "finish"]


def test_approver_falls_back_to_git_user_name(project: Project) -> None:
    env = project.env()
    del env["OPSBOOKS_USER"]
    done = subprocess.run(
        project.argv("run", "eng.basic", "--yes"),
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    (gate,) = project.gates(project.last_run()).values()
    assert gate["approver"] == "Test Operator"


def test_gate_timeout_continues_with_the_default(project: Project) -> None:
    child = _spawn(project, "run", "eng.timed_gate")
    child.expect("Replicas")
    assert _finish(child) == 0
    (gate,) = project.gates(project.last_run()).values()
    assert gate["answer"] == 2 and "timeout" in gate["source"]
    assert project.ledger == ["after"]


def test_declined_gate_rolls_back_when_asked_to(project: Project) -> None:
    project.write("no.yaml", "approve: no\n")
    done = project.cli("run", "eng.decline_rollback", "--answers", "no.yaml")
    assert done.code == 3, done.both
    assert project.ledger == ["setup", "teardown"]
    assert project.statuses(project.last_run())["setup"] == "compensated"


def test_sighup_at_a_gate_is_not_a_failure(project: Project) -> None:
    child = _spawn(project, "run", "eng.gates")
    child.expect(r"Approve\? \[y/n\]: ")
    os.kill(child.pid, signal.SIGHUP)
    child.expect(pexpect.EOF, timeout=10)
    child.close()
    outcome = project.outcome(project.last_run())
    assert outcome in ("stopped", "interrupted"), outcome
