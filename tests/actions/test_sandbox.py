"""The release sandbox, and the release playbooks' bound commands run by hand against it.

Until the engine lands, these tests run each ``Command``/``Verify`` of a plan with
``sh -c`` and the venv's bin dir first on PATH, exactly as the engine will, skipping
gates, manual steps and notifications. That proves the chain of actions works.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define import outputs
from opsbooks.define.runbook import parse_when
from opsbooks.edges.config import Config
from opsbooks.plan.binding import with_outputs
from opsbooks_playbooks.actions import ActionError, feed, sandbox
from opsbooks_playbooks.release.deploy import Deploy
from opsbooks_playbooks.release.hotfix import Hotfix
from opsbooks_playbooks.release.rollback import Rollback

pytestmark = pytest.mark.slow  # git, sh and the opsbooks CLI in subprocesses

Run = Callable[..., subprocess.CompletedProcess[str]]
Git = Callable[..., str]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def defaults(root: Path, runbook: str) -> dict[str, Any]:
    table: dict[str, Any] = tomllib.loads((root / "opsbooks.toml").read_text())["params"]
    return dict(table[runbook])


def applies(step: ob.PlannedStep, params: ob.Params) -> bool:
    if step.when is None:
        return True
    negate, name, _, _ = parse_when(step.when)
    return bool(getattr(params, name)) != negate


def run_steps(plan: ob.Plan, ids: Iterable[str] | None = None) -> list[str]:
    """Run the plan's commands in order (or just ``ids``); return the ids that ran.

    Like the engine, ``::output`` lines a step prints are bound into later steps.
    """
    assert plan.params is not None
    wanted = None if ids is None else set(ids)
    ran = []
    published: dict[str, str] = {}
    for step in plan.steps:
        if wanted is not None and step.id not in wanted:
            continue
        if step.command is None or not applies(step, plan.params):
            continue
        done = run_one(with_outputs(step, plan.params, published))
        published.update(outputs.parse(done.stdout))
        ran.append(step.id)
    return ran


def run_one(step: ob.PlannedStep) -> subprocess.CompletedProcess[str]:
    assert step.command is not None
    done = subprocess.run(
        ["sh", "-c", step.command], env=ENV, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{step.id}: {step.command}\n{done.stderr}"
    return done


@pytest.fixture
def box(tmp_path: Path) -> Path:
    root = tmp_path / "sandbox"
    sandbox.create(root, date="2026-11-01")
    return root


def test_create_builds_a_released_sandbox(tmp_path: Path, action: Run, git: Git) -> None:
    root = tmp_path / "sandbox"
    done = action("sandbox", "create", root, "--date", "2026-11-01")
    assert done.returncode == 0, done.stderr
    assert "created release sandbox" in done.stdout
    assert git(root / "origin.git", "rev-parse", "--is-bare-repository").strip() == "true"
    app = root / "app"
    assert (
        "working tree clean"
        in subprocess.run(
            ["git", "-C", str(app), "status"], capture_output=True, text=True, check=True
        ).stdout
    )
    assert git(root / "origin.git", "tag", "--list").strip() == "v1.0.0"
    assert 'version = "1.0.0"' in (app / "pyproject.toml").read_text()
    assert "## [1.0.0] - 2026-11-01" in (app / "CHANGELOG.md").read_text()
    published = feed.load(root / "feed")
    assert published.latest == "1.0.0"
    assert published.releases[0].url == sandbox.BASE_URL + "demo-app-1.0.0.tar.gz"
    assert "feed offers 1.0.0" in feed.verify(root / "feed", "1.0.0", base_url=sandbox.BASE_URL)
    with sqlite3.connect(root / "app.db") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (3,)
    tests = subprocess.run(
        ["sh", "-c", sandbox.TEST_COMMAND], cwd=app, env=ENV, capture_output=True, text=True
    )
    assert tests.returncode == 0, tests.stderr


def test_config_is_valid_opsbooks_configuration(box: Path) -> None:
    table = tomllib.loads((box / "opsbooks.toml").read_text())
    assert table["packages"] == ["opsbooks_playbooks"]
    assert table["notify"]["default"] == {"type": "file", "path": str(box / "announcements.log")}
    assert set(table["params"]) == {"release.deploy", "release.rollback", "release.hotfix"}
    known = {k: v for k, v in table.items() if k in Config.model_fields}
    assert set(table) - set(known) <= {"params"}  # params: the field the engine adds
    Config.model_validate(known)
    # every default names a real parameter of its runbook, so the engine can pass them
    for runbook in (Deploy, Rollback, Hotfix):
        assert set(table["params"][runbook.name]) <= set(runbook.Params.model_fields)


def test_create_refuses_a_non_empty_folder(box: Path, action: Run) -> None:
    done = action("sandbox", "create", box)
    assert done.returncode == 1
    assert "is not empty" in done.stderr


def test_bump_commits_and_pushes_a_release_candidate(box: Path, action: Run, git: Git) -> None:
    done = action("sandbox", "bump", box, "--version", "1.1.0", "--notes", "Say goodbye too")
    assert done.returncode == 0, done.stderr
    app = box / "app"
    assert 'version = "1.1.0"' in (app / "pyproject.toml").read_text()
    changelog = (app / "CHANGELOG.md").read_text()
    assert changelog.index("## [1.1.0]") < changelog.index("## [1.0.0]")
    assert "- Say goodbye too" in changelog
    assert git(app, "rev-parse", "HEAD") == git(box / "origin.git", "rev-parse", "main")
    with pytest.raises(ActionError, match="not newer"):
        sandbox.bump(box, "1.0.5")


def deploy_plan(box: Path, version: str, **extra: Any) -> ob.Plan:
    values = {**defaults(box, "release.deploy"), "version": version, **extra}
    return ob.plan(Deploy, Deploy.Params(**values))


def test_deploy_then_rollback_then_hotfix_by_hand(box: Path, git: Git) -> None:
    sandbox.bump(box, "1.1.0", notes="Say goodbye too")
    deploy = deploy_plan(box, "1.1.0", notes="Say goodbye too")
    ran = run_steps(deploy)
    assert ran == [
        "check_clean", "check_version", "check_changelog", "check_tag_free", "check_newer",
        "run_tests", "tag", "push_tag", "build", "verify_manifest", "publish", "verify_feed",
    ]  # fmt: skip
    assert "v1.1.0" in git(box / "origin.git", "tag", "--list")
    assert feed.load(box / "feed").latest == "1.1.0"
    assert (box / "dist" / "1.1.0" / "SHA256SUMS").is_file()
    # the release is done: the same version is refused before anything changes
    again = subprocess.run(
        ["sh", "-c", deploy.get("check_tag_free").command or ""], env=ENV, capture_output=True
    )
    assert again.returncode == 1

    params = Rollback.Params(**defaults(box, "release.rollback"))
    rollback = ob.plan(Rollback, params)
    found = run_one(rollback.get("find_last_good"))
    assert found.stdout.startswith("1.0.0 (rolling back from 1.1.0)")
    assert run_steps(rollback) == [
        "find_last_good",
        "point_latest",
        "verify_feed",
        "draft_follow_up",
    ]
    rolled = feed.load(box / "feed")
    assert rolled.latest == "1.0.0"
    assert rolled.find("1.1.0") is not None and rolled.find("1.1.0").withdrawn  # type: ignore[union-attr]
    assert run_steps(rollback) == [
        "find_last_good",
        "point_latest",
        "verify_feed",
        "draft_follow_up",
    ]  # re-runnable

    hotfix = ob.plan(
        Hotfix,
        Hotfix.Params(
            **defaults(box, "release.hotfix"), version="1.0.1", from_version="1.0.0",
            notes="Fix greeting punctuation",
        ),
    )  # fmt: skip
    run_steps(hotfix, ["branch_from_tag"])
    app = box / "app"
    source = app / "demo_app.py"
    source.write_text(source.read_text().replace('"""Greet someone by name."""', '"""Greet."""'))
    git(app, "commit", "--quiet", "--all", "--message", "Fix greeting")  # apply_fix (manual)
    sandbox.bump(box, "1.0.1", notes="Fix greeting punctuation")  # prepare_release (manual)
    ran = run_steps(hotfix, [s.id for s in hotfix.steps if s.id != "branch_from_tag"])
    assert ran[0] == "check_clean" and ran[-1] == "push_branch"
    assert "cherry_pick" not in ran
    final = feed.load(box / "feed")
    assert final.latest == "1.0.1"
    assert [r.version for r in final.active()] == ["1.0.1", "1.0.0"]
    assert "hotfix/1.0.1" in git(box / "origin.git", "branch", "--list")
    assert "v1.0.1" in git(box / "origin.git", "tag", "--list")


def test_failed_deploy_is_undone_by_its_compensations(box: Path, git: Git) -> None:
    sandbox.bump(box, "1.1.0")
    plan = deploy_plan(box, "1.1.0", build_command="echo no compiler >&2; exit 1")
    done: list[str] = []
    for step in plan.steps:
        if step.command is None or not applies(step, plan.params):  # type: ignore[arg-type]
            continue
        result = subprocess.run(["sh", "-c", step.command], env=ENV, capture_output=True)
        if result.returncode != 0:
            failed = step.id
            break
        done.append(step.id)
    assert failed == "build"
    assert "v1.1.0" in git(box / "origin.git", "tag", "--list")
    for step_id in reversed(done):
        undo = plan.get(step_id).undo
        if undo:
            run_one(plan.compensations[undo])
    assert git(box / "origin.git", "tag", "--list").strip() == "v1.0.0"
    assert git(box / "app", "tag", "--list").strip() == "v1.0.0"
    assert feed.load(box / "feed").latest == "1.0.0"
    # after the undo the release can simply be tried again
    retry = deploy_plan(box, "1.1.0")
    run_steps(retry)
    assert json.loads((box / "feed" / "feed.json").read_text())["latest"] == "1.1.0"


def test_publish_undo_leaves_the_feed_on_an_existing_artifact(box: Path) -> None:
    sandbox.bump(box, "1.1.0")
    plan = deploy_plan(box, "1.1.0")
    run_steps(plan, [s.id for s in plan.steps if s.id != "verify_feed"])
    assert feed.load(box / "feed").latest == "1.1.0"
    run_one(plan.compensations["unpublish"])
    after = feed.load(box / "feed")
    assert after.latest == "1.0.0"
    assert (box / "feed" / after.releases[0].file).is_file()
    assert "feed offers 1.0.0" in feed.verify(box / "feed", "1.0.0")


def opsbooks_cli(box: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``opsbooks`` program in the sandbox, as an operator would."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "opsbooks"), *args],
        cwd=box,
        env=ENV,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )


def test_engine_deploys_rolls_back_and_verifies_each_time(box: Path, git: Git) -> None:
    sandbox.bump(box, "1.1.0", notes="Say goodbye too")
    done = opsbooks_cli(box, "run", "release.deploy", "--version", "1.1.0", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "feed offers 1.1.0" in feed.verify(box / "feed", "1.1.0", base_url=sandbox.BASE_URL)
    assert "Released 1.1.0." in (box / "announcements.log").read_text()

    answers = box / "answers.yaml"
    answers.write_text("approve: rollback\nfollow_up: done\n")
    done = opsbooks_cli(
        box, "run", "release.rollback", "--to-version", "1.0.0", "--answers", str(answers)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "feed offers 1.0.0" in feed.verify(box / "feed", "1.0.0", base_url=sandbox.BASE_URL)
    assert "offers 1.0.0 again" in (box / "announcements.log").read_text()

    report = opsbooks_cli(box, "report", "last").stdout  # what the change ticket records
    assert (
        "| `approve` | Rollback approved? The feed stops offering 1.1.0 (and anything newer) "
        "and offers 1.0.0 again. | True |"
    ) in report
    skipped = next(line for line in report.splitlines() if line.startswith("| `verify_mirror`"))
    assert "--version 1.0.0 " in skipped  # bound from find_last_good's recorded outputs

    run_id = json.loads(opsbooks_cli(box, "report", "last", "--format", "json").stdout)["run"]["id"]
    (draft,) = (box / "followups").iterdir()
    text = draft.read_text()
    assert text.startswith("# Fix for 1.1.0 (rolled back to 1.0.0)")
    assert f"opsbooks report {run_id}" in text and run_id in draft.name


def test_engine_undoes_the_tag_when_publication_fails(box: Path, git: Git) -> None:
    sandbox.bump(box, "1.1.0")
    stopped = opsbooks_cli(box, "run", "release.deploy", "--version", "1.1.0")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr  # at the review gate
    report = json.loads(opsbooks_cli(box, "report", "last", "--format", "json").stdout)
    skipped = {s["step"]: s for s in report["steps"]}["check_feed_host"]  # no command recorded
    assert skipped["status"] == "skipped"
    assert skipped["command"].endswith("feed_remote check --host '' --path ''")
    (box / "feed" / "demo-app-1.1.0.tar.gz").mkdir()  # publication will fail to copy
    answers = box / "answers.yaml"
    answers.write_text("review_notes: yes\n")
    failed = opsbooks_cli(box, "resume", "last", "--answers", str(answers))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "publish" in failed.stdout
    assert git(box / "origin.git", "tag", "--list").strip() == "v1.0.0"
    assert git(box / "app", "tag", "--list").strip() == "v1.0.0"
    assert feed.load(box / "feed").latest == "1.0.0"
    assert "feed offers 1.0.0" in feed.verify(box / "feed", "1.0.0")
