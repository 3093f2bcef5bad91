"""git actions against a real clone and a bare origin."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from opsbooks_playbooks.actions import ActionError
from opsbooks_playbooks.actions import git as actions_git

pytestmark = pytest.mark.slow  # real git repositories and python -m subprocesses

Run = Callable[..., subprocess.CompletedProcess[str]]
Git = Callable[..., str]


def test_check_clean_passes_on_a_clean_tree(repo: Path, action: Run) -> None:
    done = action("git", "check-clean", "--repo", repo)
    assert done.returncode == 0, done.stderr
    assert "clean" in done.stdout


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_check_clean_fails_on_a_dirty_tree(repo: Path, action: Run, change: str) -> None:
    if change == "modified":
        (repo / "app.py").write_text("print('changed')\n")
    else:
        (repo / "notes.txt").write_text("scratch\n")
    done = action("git", "check-clean", "--repo", repo)
    assert done.returncode == 1
    assert "not clean" in done.stderr
    assert ("app.py" if change == "modified" else "notes.txt") in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_check_version_reads_pyproject(repo: Path, action: Run) -> None:
    assert action("git", "check-version", "--repo", repo, "--version", "1.0.0").returncode == 0
    done = action("git", "check-version", "--repo", repo, "--version", "1.1.0")
    assert done.returncode == 1
    assert "says version 1.0.0, expected 1.1.0" in done.stderr


def test_check_version_reads_a_configured_file_and_pattern(repo: Path) -> None:
    (repo / "VERSION").write_text("2.3.4\n")
    (repo / "app.py").write_text('__version__ = "2.3.4"\n')
    assert "2.3.4" in actions_git.check_version(repo, "2.3.4", "VERSION")
    assert actions_git.read_version(repo, "app.py") == "2.3.4"
    assert actions_git.read_version(repo, "app.py", r"__version__ = \"(.+)\"") == "2.3.4"
    with pytest.raises(ActionError, match="no version found"):
        actions_git.read_version(repo, "app.py", r"VERSION: (\S+)")


def test_check_changelog(repo: Path, action: Run) -> None:
    assert action("git", "check-changelog", "--repo", repo, "--version", "1.0.0").returncode == 0
    done = action("git", "check-changelog", "--repo", repo, "--version", "1.0.1")
    assert done.returncode == 1
    assert "no entry for 1.0.1" in done.stderr


def test_check_changelog_rejects_an_empty_entry(repo: Path) -> None:
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [2.0.0]\n\n## [1.0.0]\n\n- x\n")
    with pytest.raises(ActionError, match="no notes under it"):
        actions_git.check_changelog(repo, "2.0.0")
    # 1.0.0 must not match as a prefix of 1.0.00 or 11.0.0
    assert "entry for 1.0.0" in actions_git.check_changelog(repo, "1.0.0")
    with pytest.raises(ActionError):
        actions_git.check_changelog(repo, "1.0")


def test_tag_push_and_delete_round_trip(repo: Path, origin: Path, action: Run, git: Git) -> None:
    assert action("git", "check-tag-free", "--repo", repo, "--version", "1.0.0").returncode == 0
    done = action("git", "tag", "--repo", repo, "--version", "1.0.0", "--message", "Release")
    assert done.returncode == 0, done.stderr
    assert git(repo, "cat-file", "-t", "v1.0.0").strip() == "tag"  # annotated
    assert action("git", "push-tag", "--repo", repo, "--version", "1.0.0").returncode == 0
    assert action("git", "push-tag", "--repo", repo, "--version", "1.0.0").returncode == 0
    assert "v1.0.0" in git(origin, "tag", "--list")

    refused = action("git", "tag", "--repo", repo, "--version", "1.0.0", "--message", "again")
    assert refused.returncode == 1
    assert "already exists" in refused.stderr
    taken = action("git", "check-tag-free", "--repo", repo, "--version", "1.0.0")
    assert taken.returncode == 1

    done = action("git", "delete-tag", "--repo", repo, "--version", "1.0.0")
    assert done.returncode == 0, done.stderr
    assert "on origin and locally" in done.stdout
    assert git(origin, "tag", "--list") == ""
    assert git(repo, "tag", "--list") == ""
    again = action("git", "delete-tag", "--repo", repo, "--version", "1.0.0")
    assert again.returncode == 0
    assert "already absent" in again.stdout


def test_check_tag_free_sees_a_tag_only_on_the_remote(repo: Path, tmp_path: Path, git: Git) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(repo / ".." / "origin.git"), str(other))
    git(other, "tag", "--annotate", "v9.0.0", "--message", "elsewhere")
    git(other, "push", "--quiet", "origin", "v9.0.0")
    with pytest.raises(ActionError, match="already exists on origin"):
        actions_git.check_tag_free(repo, "9.0.0")


def test_delete_tag_where_remote_keeps_the_local_tag(repo: Path, origin: Path, git: Git) -> None:
    actions_git.create_tag(repo, "1.0.0", "Release 1.0.0")
    actions_git.push_tag(repo, "1.0.0")
    assert "on origin" in actions_git.delete_tag(repo, "1.0.0", where="remote")
    assert git(origin, "tag", "--list") == ""
    assert git(repo, "tag", "--list").strip() == "v1.0.0"


def test_bad_usage_exits_2(repo: Path, action: Run) -> None:
    done = action("git", "tag", "--repo", repo, "--version", "1.0")
    assert done.returncode == 2
    assert "not a semantic version" in done.stderr
    assert action("git", "frobnicate").returncode == 2


def test_missing_repo_is_a_clear_failure(tmp_path: Path, action: Run) -> None:
    done = action("git", "check-clean", "--repo", tmp_path / "nope")
    assert done.returncode == 1
    assert "does not exist" in done.stderr


def test_tag_versions_ignores_other_tags(repo: Path, git: Git) -> None:
    git(repo, "tag", "v1.0.0")
    git(repo, "tag", "v0.9.0-rc.1")
    git(repo, "tag", "nightly")
    assert [str(v) for v in actions_git.tag_versions(repo)] == ["0.9.0-rc.1", "1.0.0"]


def test_branch_from_tag_and_cherry_pick(
    repo: Path, origin: Path, action: Run, git: Git, commit_release: Callable[[Path, str], None]
) -> None:
    actions_git.create_tag(repo, "1.0.0", "Release 1.0.0")
    (repo / "feature.py").write_text("new = True\n")
    git(repo, "add", "feature.py")
    git(repo, "commit", "--quiet", "--message", "Unreleased feature")
    (repo / "app.py").write_text("print('fixed')\n")
    git(repo, "commit", "--quiet", "--all", "--message", "The fix")
    fix = git(repo, "rev-parse", "HEAD").strip()

    refused = action(
        "git", "branch-from-tag", "--repo", repo, "--from-version", "1.0.0", "--version", "1.1.0"
    )
    assert refused.returncode == 1
    assert "not a patch release of 1.0.0; use 1.0.1" in refused.stderr

    done = action(
        "git", "branch-from-tag", "--repo", repo, "--from-version", "1.0.0", "--version", "1.0.1"
    )
    assert done.returncode == 0, done.stderr
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "hotfix/1.0.1"
    assert not (repo / "feature.py").exists()
    assert "already on" in actions_git.branch_from_tag(repo, "1.0.0", "1.0.1")

    assert action("git", "cherry-pick", "--repo", repo, fix).returncode == 0
    assert (repo / "app.py").read_text() == "print('fixed')\n"
    assert not (repo / "feature.py").exists()
    commit_release(repo, "1.0.1")
    assert "hotfix/1.0.1" in git(origin, "branch", "--list")


def test_cherry_pick_conflict_is_aborted(repo: Path, git: Git) -> None:
    actions_git.create_tag(repo, "1.0.0", "Release 1.0.0")
    (repo / "app.py").write_text("print('one')\n")
    git(repo, "commit", "--quiet", "--all", "--message", "one")
    one = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "--quiet", "--create", "side", "v1.0.0")
    (repo / "app.py").write_text("print('two')\n")
    git(repo, "commit", "--quiet", "--all", "--message", "two")
    with pytest.raises(ActionError, match="aborted"):
        actions_git.cherry_pick(repo, [one])
    assert "clean" in actions_git.check_clean(repo)
