"""Recovery paths through the real CLI (issue 13 items 2, 5 and 11): a kill during an
undo, illegal --mark-done requests, resuming an overtaken run, abandon, ambiguous ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from reliability_helpers import cli, latest_states, make_project, query

pytestmark = pytest.mark.slow

# b's undo removes b's effect, then SIGKILLs the runner (its parent) once: a crash in
# the middle of a rollback, after the undo did its work and before it was journaled.
UNDO_KILLED = '''
class Undone(ob.Runbook):
    """a and b put a marker in place; c fails until c.ok exists."""

    name = "rec.undone"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    a = ob.Command("touch a.on", undo=ob.Command("rm -f a.on", idempotent=True))
    b = ob.Command(
        "touch b.on",
        undo=ob.Command(
            "rm -f b.on; if [ ! -e killed ]; then touch killed; kill -9 $PPID; fi",
            idempotent=True,
        ),
    )
    c = ob.Command("test -e c.ok")
'''

GATED = '''
class Gated(ob.Runbook):
    """Announce after a person approves."""

    name = "rec.gated"
    scope = "a ledger"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    first = ob.Command("printf 'first\\\\n' >> ledger.txt")
    approve = ob.Gate.confirm("Go on?")
    announce = ob.Command("printf 'announce\\\\n' >> ledger.txt")
'''


def _run_id(text: str) -> str:
    found = re.search(r"opsbooks resume (\S+)", text)
    assert found, text
    return found.group(1)


def _outcome(root: Path, run_id: str) -> str:
    return str(query(root, "SELECT outcome FROM runs WHERE id=?", run_id)[0][0])


def _locks(root: Path) -> list[tuple[object, ...]]:
    return query(root, "SELECT runbook, run_id FROM locks")


def test_a_kill_during_an_undo_is_finished_on_resume_never_taken_as_done(
    tmp_path: Path,
) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/undone": UNDO_KILLED})
    first = cli(root, "run", "rec.undone")
    assert first.returncode != 0
    runs = query(root, "SELECT id FROM runs")
    run_id = str(runs[0][0])
    assert latest_states(root, run_id)["b"] == "compensating"  # durable before the undo
    assert not (root / "b.on").exists() and (root / "a.on").exists()
    (root / "c.ok").touch()  # the operator fixes c, then resumes

    resumed = cli(root, "resume", run_id)
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr
    assert "finishing the rollback" in resumed.stdout
    assert _outcome(root, run_id) == "rolled_back"
    assert not (root / "a.on").exists() and not (root / "b.on").exists()
    assert "Traceback" not in resumed.stdout + resumed.stderr

    again = cli(root, "resume", run_id)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (root / "a.on").exists() and (root / "b.on").exists()
    assert cli(root, "audit", "verify", run_id).returncode == 0


@pytest.mark.parametrize(
    ("step", "said"),
    [("first", "already succeeded"), ("nope", "has no such step")],
)
def test_an_illegal_mark_done_is_refused_and_the_run_is_left_as_it_was(
    tmp_path: Path, step: str, said: str
) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/gated": GATED})
    stopped = cli(root, "run", "rec.gated")
    assert stopped.returncode == 3
    run_id = _run_id(stopped.stdout)
    before = latest_states(root, run_id)

    refused = cli(root, "resume", run_id, "--mark-done", step, "--reason", "by hand")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert said in refused.stderr + refused.stdout
    assert "Traceback" not in refused.stderr
    assert latest_states(root, run_id) == before
    assert _outcome(root, run_id) == "stopped" and _locks(root) == []
    assert cli(root, "resume", run_id, "--yes").returncode == 0


def test_a_compensated_step_cannot_be_marked_done(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/undone": UNDO_KILLED})
    (root / "killed").touch()  # no kill this time: a plain failure and rollback
    failed = cli(root, "run", "rec.undone")
    run_id = str(query(root, "SELECT id FROM runs")[0][0])
    assert failed.returncode == 1 and _outcome(root, run_id) == "rolled_back"
    refused = cli(root, "resume", run_id, "--mark-done", "a", "--reason", "x")
    assert refused.returncode == 2
    assert "undone by the rollback" in refused.stderr + refused.stdout


def test_resuming_a_run_overtaken_by_a_newer_success_asks_and_refuses_silently_never(
    tmp_path: Path,
) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/gated": GATED})
    old = _run_id(cli(root, "run", "rec.gated").stdout)
    newer = cli(root, "run", "rec.gated", "--yes")
    assert newer.returncode == 0
    refused = cli(root, "resume", old)
    assert refused.returncode == 2
    assert "succeeded" in refused.stderr and "resume:superseded" in refused.stderr
    assert _outcome(root, old) == "stopped"
    answers = root / "answers.yml"
    answers.write_text("resume:superseded: yes\napprove: yes\n")
    assert cli(root, "resume", old, "--answers", str(answers)).returncode == 0


def test_abandon_closes_a_run_for_good_and_is_journaled(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/gated": GATED})
    run_id = _run_id(cli(root, "run", "rec.gated").stdout)
    no_reason = cli(root, "abandon", run_id)
    assert no_reason.returncode == 2
    done = cli(root, "abandon", run_id, "--reason", "superseded by the hotfix")
    assert done.returncode == 0, done.stderr
    assert _outcome(root, run_id) == "abandoned"
    reason = query(root, "SELECT reason FROM runs WHERE id=?", run_id)[0][0]
    assert reason == "abandoned by torture-operator: superseded by the hotfix"
    refused = cli(root, "resume", run_id, "--yes")
    assert refused.returncode == 2 and "was abandoned" in refused.stderr
    assert "abandoned" in cli(root, "history").stdout


def test_an_ambiguous_run_id_prefix_lists_the_matches(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"rec/gated": GATED})
    first = _run_id(cli(root, "run", "rec.gated").stdout)
    cli(root, "abandon", first, "--reason", "make room")
    second = _run_id(cli(root, "run", "rec.gated").stdout)
    prefix = "2"
    refused = cli(root, "resume", prefix)
    assert refused.returncode == 2
    assert "ambiguous" in refused.stderr and first in refused.stderr and second in refused.stderr
