"""The release playbooks as definitions: ids, binding, quoting, and commands the CLIs accept."""

from __future__ import annotations

import importlib
import re
import shlex
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.edges.discovery import discover
from opsbooks_playbooks.release.deploy import Deploy
from opsbooks_playbooks.release.hotfix import Hotfix
from opsbooks_playbooks.release.rollback import Rollback

HOSTILE = "/tmp/my app $(touch pwned) 'x' `y`;z"
COMMON = {"repo": "/srv/app", "feed_dir": "/srv/feed", "base_url": "https://u.example/app/"}
RELEASE = {**COMMON, "dist_dir": "/srv/dist"}

RELEASE_STEPS = [
    "check_clean", "check_version", "check_changelog", "check_tag_free", "check_newer",
    "run_tests", "review_notes", "tag", "push_tag", "build", "wait_for_artifacts",
    "verify_manifest", "publish", "mirror_feed", "verify_mirror", "verify_feed", "announce",
]  # fmt: skip
MIRROR = {"feed_host": "web", "feed_path": "/srv/www/{host.name}/updates"}


def plans() -> list[ob.Plan]:
    return [
        ob.plan(Deploy, Deploy.Params(version="1.4.0", **RELEASE)),
        ob.plan(Rollback, Rollback.Params(**COMMON)),
        ob.plan(Hotfix, Hotfix.Params(version="1.3.1", from_version="1.3.0", **RELEASE)),
        ob.plan(Deploy, Deploy.Params(version="1.4.0", **RELEASE, **MIRROR)),
        ob.plan(Rollback, Rollback.Params(**COMMON, **MIRROR)),
    ]


def test_step_ids_are_stable() -> None:
    assert ob.plan(Deploy).ids() == ["check_feed_host", *RELEASE_STEPS]
    assert ob.plan(Rollback).ids() == [
        "check_feed_host", "find_last_good", "approve", "point_latest", "mirror_feed",
        "verify_mirror", "verify_feed", "announce", "draft_follow_up", "follow_up",
    ]  # fmt: skip
    assert ob.plan(Hotfix).ids() == [
        "check_feed_host", "branch_from_tag", "cherry_pick", "apply_fix", "prepare_release",
        *RELEASE_STEPS, "push_branch", "merge_back",
    ]  # fmt: skip


def test_every_changing_release_step_has_an_undo() -> None:
    for runbook in (Deploy, Hotfix):
        undo = {s.id: s.undo for s in ob.plan(runbook).steps if s.undo}
        assert undo == {
            "tag": "delete_tag",
            "push_tag": "delete_remote_tag",
            "publish": "unpublish",
            "mirror_feed": "unmirror",
        }
        assert set(runbook.compensations) == {
            "delete_tag", "delete_remote_tag", "unpublish", "unmirror",
        }  # fmt: skip


def test_mirroring_steps_run_only_with_a_feed_host() -> None:
    for runbook in (Deploy, Rollback, Hotfix):
        plan = ob.plan(runbook)
        for step in ("check_feed_host", "mirror_feed", "verify_mirror"):
            assert plan.get(step).when == "feed_host", (runbook.name, step)


def test_artifacts_come_from_the_workflow_or_from_a_build_not_both() -> None:
    plan = ob.plan(Deploy)
    assert plan.get("build").when == "not artifacts_from"
    assert plan.get("wait_for_artifacts").when == "artifacts_from"
    with pytest.raises(ValueError, match="artifacts_from and build_command exclude each other"):
        Deploy.Params(
            version="1.4.0", artifacts_from="https://ci/x", build_command="make", **RELEASE
        )


@pytest.mark.parametrize("given", [{"feed_host": "web"}, {"feed_path": "/srv/www"}])
def test_feed_host_and_feed_path_go_together(given: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="feed_host and feed_path go together"):
        Deploy.Params(version="1.4.0", **RELEASE, **given)
    with pytest.raises(ValueError, match="feed_host and feed_path go together"):
        Rollback.Params(**COMMON, **given)


def test_catalog_finds_the_three_release_runbooks() -> None:
    names = discover(["opsbooks_playbooks"]).names()
    assert {"release.deploy", "release.hotfix", "release.rollback"} <= set(names)
    for runbook in (Deploy, Rollback, Hotfix):
        assert runbook.purpose() and runbook.scope and runbook.owner
        assert runbook.prerequisites and runbook.verification and runbook.recovery
        assert runbook.troubleshooting and runbook.changelog and runbook.reviewed_on()
        assert set(runbook.related) <= set(names)


def test_unbound_plan_keeps_placeholders_for_the_docs() -> None:
    tag = ob.plan(Deploy).get("tag")
    assert (
        tag.shown
        == "python -m opsbooks_playbooks.actions.git tag --repo '{repo}' --version '{version}'"
    )


def test_bound_plans_leave_no_placeholder_but_run_time_outputs() -> None:
    for plan in plans()[:3]:
        every = list(plan.steps) + list(plan.compensations.values())
        for step in every:
            for text in (step.command, step.text):
                rest = re.sub(r"\{outputs\.(target|bad)\}", "", text or "")
                assert "{" not in rest, (plan.name, step.id, text)


@pytest.mark.parametrize(
    "field",
    [
        "repo",
        "feed_dir",
        "dist_dir",
        "notes",
        "base_url",
        "feed_host",
        "feed_path",
        "artifacts_from",
    ],
)
def test_every_value_reaches_the_command_as_one_argument(field: str) -> None:
    values: dict[str, Any] = {**RELEASE, **MIRROR, field: HOSTILE}
    plan = ob.plan(Deploy, Deploy.Params(version="1.4.0", **values))
    seen = 0
    for step in plan.steps:
        if step.command is None or step.id == "run_tests":
            continue
        argv = shlex.split(step.command)
        whole = (HOSTILE, f"--notes={HOSTILE}", f"--command={HOSTILE}")  # attached: one value
        seen += sum(1 for arg in argv if arg in whole or arg.startswith(HOSTILE + "/"))
        assert not any("pwned" in a and not a.startswith(whole) for a in argv)
    assert seen >= 1


def test_test_command_runs_as_one_shell_word() -> None:
    plan = ob.plan(Deploy, Deploy.Params(version="1.4.0", test_command="make test; ls", **RELEASE))
    run_tests = plan.get("run_tests")
    assert run_tests.when == "test_command"
    assert shlex.split(run_tests.command or "") == [
        "cd", "/srv/app", "&&", "sh", "-c", "--", "make test; ls",
    ]  # fmt: skip


def test_hotfix_commits_each_become_an_argument() -> None:
    params = Hotfix.Params(
        version="1.3.1", from_version="1.3.0", fix_commits=["abc123", "def 456"], **RELEASE
    )
    step = ob.plan(Hotfix, params).get("cherry_pick")
    assert shlex.split(step.command or "")[-2:] == ["abc123", "def 456"]
    assert step.when == "fix_commits"
    assert ob.plan(Hotfix, params).get("apply_fix").when == "not fix_commits"


@pytest.mark.parametrize("bad", ["1.4", "v1.4.0", "1.4.0.1", "01.4.0", ""])
def test_version_must_be_semver(bad: str) -> None:
    with pytest.raises(ValueError):
        Deploy.Params(version=bad, **RELEASE)


def test_rollback_versions_are_optional_but_checked() -> None:
    Rollback.Params(**COMMON)
    Rollback.Params(to_version="1.0.0", bad_version="1.1.0-rc.1", **COMMON)
    with pytest.raises(ValueError):
        Rollback.Params(to_version="latest", **COMMON)


def test_every_action_command_is_accepted_by_its_cli() -> None:
    """What the docs show and the engine runs parses with the action's own argparse."""
    checked = 0
    for plan in plans():
        for step in list(plan.steps) + list(plan.compensations.values()):
            if step.command is None or "opsbooks_playbooks.actions." not in step.command:
                continue
            # what the engine binds at run time from find_last_good's outputs
            command = step.command.replace("{outputs.target}", "1.0.0")
            argv = shlex.split(command.replace("{outputs.bad}", "1.1.0"))
            assert argv[:2] == ["python", "-m"], step.command
            module = importlib.import_module(argv[2])
            args = module.PROGRAM.parser().parse_args(argv[3:])
            assert args.action == argv[3]
            checked += 1
    assert checked >= 25


def test_gates_and_notifications_bind_params() -> None:
    deploy = plans()[0]
    assert deploy.get("review_notes").text == (
        "Release notes for 1.4.0 reviewed and the release approved?"
    )
    assert deploy.get("announce").text == "Released 1.4.0. "
    assert Rollback.step("approve").phrase == "rollback"  # type: ignore[attr-defined]
    hotfix = plans()[2]
    assert hotfix.get("announce").text == "Released hotfix 1.3.1 (fixes 1.3.0). "


@pytest.mark.slow
def test_importing_the_definitions_loads_no_action_or_execution_code() -> None:
    import json
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "import opsbooks_playbooks.release.deploy, opsbooks_playbooks.release.rollback\n"
        "import opsbooks_playbooks.release.hotfix\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    actions = {
        "opsbooks_playbooks.actions.git",
        "opsbooks_playbooks.actions.feed",
        "opsbooks_playbooks.actions.feed_remote",
    }
    assert not loaded & (actions | {"http.server"})
    assert not {m.split(".")[0] for m in loaded} & {"invoke", "fabric", "tenacity", "structlog"}
