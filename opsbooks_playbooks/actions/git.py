"""Git checks and tag operations of a release, safe to re-run and to undo.

Each refuses before changing anything when the repository is not ready, and says
what to fix. Tags are annotated ``v<version>``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

from opsbooks.actions import Arg, output_lines
from opsbooks_playbooks.actions import (
    ActionError,
    Version,
    no_option_arg,
    optional_version_arg,
    program,
    run,
    version_arg,
)

#: The command-line arguments the subcommands share.
Repo = Annotated[Path, Arg(help="path of the working clone")]
ReleaseVersion = Annotated[str, Arg(type=version_arg, help="e.g. 1.4.0")]
Remote = Annotated[str, Arg(type=no_option_arg, help="git remote (default: origin)")]

_VERSION_LINE = r"""(?m)^\s*(?:__version__|VERSION|version)\s*[:=]\s*["']?([^"'\s]+)"""


def git(repo: Path, *args: str) -> str:
    """Run ``git -C repo args`` and return stdout; a missing repo is a clear error."""
    if not repo.is_dir():
        raise ActionError(f"{repo} does not exist; pass --repo the path of the working clone")
    return run(["git", "-C", str(repo), *args])


def tag_name(version: str) -> str:
    return f"v{version}"


def check_clean(repo: Repo) -> str:
    """Fail if the working tree has uncommitted or untracked changes."""
    status = git(repo, "status", "--porcelain", "--untracked-files=all")
    changed = [line[3:] for line in status.splitlines() if line.strip()]
    if changed:
        more = f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        shown = ", ".join(changed[:5]) + more
        raise ActionError(
            f"working tree {repo} is not clean ({shown}); commit or stash the changes first"
        )
    return f"{repo}: working tree clean"


def read_version(repo: Path, file: str = "pyproject.toml", pattern: str | None = None) -> str:
    """Read the version from pyproject's ``[project].version`` or ``pattern`` in ``file``."""
    path = repo / file
    if not path.is_file():
        raise ActionError(f"{path} does not exist; pass --file the file that holds the version")
    text = path.read_text(encoding="utf-8")
    if pattern is None and path.name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ActionError(f"{path} is not valid TOML: {exc}") from None
        found = data.get("project", {}).get("version")
        if not isinstance(found, str):
            raise ActionError(f"{path} has no [project].version; add it or pass --pattern")
        return found
    match = re.search(pattern or _VERSION_LINE, text)
    if match is None:
        stripped = text.strip()
        if pattern is None and stripped and "\n" not in stripped:
            return stripped
        raise ActionError(f"no version found in {path} with pattern {pattern or _VERSION_LINE!r}")
    return match.group(1) if match.groups() else match.group(0)


def check_version(
    repo: Repo,
    version: ReleaseVersion,
    file: Annotated[str, Arg(help="version file, relative to --repo")] = "pyproject.toml",
    pattern: Annotated[
        str | None, Arg(help="regex whose first group is the version (other files)")
    ] = None,
) -> str:
    """Fail unless the version file says ``version``."""
    found = read_version(repo, file, pattern)
    if found != version:
        raise ActionError(
            f"{file} says version {found}, expected {version}; set it to {version} and commit"
        )
    return f"{file}: version {version}"


def check_changelog(
    repo: Repo,
    version: ReleaseVersion,
    file: Annotated[str, Arg(help="changelog, relative to --repo")] = "CHANGELOG.md",
) -> str:
    """Fail unless the changelog has a heading for ``version`` with notes under it."""
    path = repo / file
    if not path.is_file():
        raise ActionError(f"{path} does not exist; add a changelog with an entry for {version}")
    lines = path.read_text(encoding="utf-8").splitlines()
    heading = re.compile(rf"^#+\s*\[?v?{re.escape(version)}\]?(?=$|[\s(:])")
    for index, line in enumerate(lines):
        if heading.match(line):
            body = []
            for after in lines[index + 1 :]:
                if after.startswith("#"):
                    break
                body.append(after.strip())
            if not any(body):
                raise ActionError(f"{file} has a heading for {version} but no notes under it")
            return f"{file}: entry for {version}"
    raise ActionError(
        f"{file} has no entry for {version}; add a heading like '## [{version}] - YYYY-MM-DD' "
        f"with the release notes and commit"
    )


def local_tag_exists(repo: Path, version: str) -> bool:
    return bool(git(repo, "tag", "--list", tag_name(version)).strip())


def remote_tag_exists(repo: Path, version: str, remote: str) -> bool:
    out = git(repo, "ls-remote", "--tags", "--", remote, f"refs/tags/{tag_name(version)}")
    return bool(out.strip())


def check_tag_free(repo: Repo, version: ReleaseVersion, remote: Remote = "origin") -> str:
    """Fail if tag v<version> already exists here or on the remote."""
    tag = tag_name(version)
    if local_tag_exists(repo, version):
        raise ActionError(f"tag {tag} already exists in {repo}; choose a new version")
    if remote_tag_exists(repo, version, remote):
        raise ActionError(f"tag {tag} already exists on {remote}; choose a new version")
    return f"tag {tag} is free here and on {remote}"


def create_tag(
    repo: Repo,
    version: ReleaseVersion,
    message: Annotated[str, Arg(help="tag message (default: Release <version>)")] = "",
) -> str:
    """Create the annotated tag v<version> at HEAD; refuse if it exists."""
    tag = tag_name(version)
    if local_tag_exists(repo, version):
        raise ActionError(f"tag {tag} already exists in {repo}; delete it first or pick a version")
    git(repo, "tag", "--annotate", tag, "--message", message or f"Release {version}")
    head = git(repo, "rev-parse", "--short", "HEAD").strip()
    return f"created tag {tag} at {head}"


def push_tag(repo: Repo, version: ReleaseVersion, remote: Remote = "origin") -> str:
    """Push tag v<version> to the remote; pushing the same tag again is a no-op."""
    tag = tag_name(version)
    if not local_tag_exists(repo, version):
        raise ActionError(f"tag {tag} does not exist in {repo}; create it first")
    git(repo, "push", "--quiet", "--", remote, f"refs/tags/{tag}:refs/tags/{tag}")
    return f"pushed tag {tag} to {remote}"


def delete_tag(
    repo: Repo,
    version: ReleaseVersion,
    remote: Remote = "origin",
    where: Literal["local", "remote", "both"] = "both",
) -> str:
    """Delete tag v<version> locally and/or on the remote; absent tags are fine (undo)."""
    tag = tag_name(version)
    done = []
    if where in ("remote", "both") and remote_tag_exists(repo, version, remote):
        git(repo, "push", "--quiet", "--", remote, f":refs/tags/{tag}")
        done.append(f"on {remote}")
    if where in ("local", "both") and local_tag_exists(repo, version):
        git(repo, "tag", "--delete", tag)
        done.append("locally")
    return f"deleted tag {tag} " + " and ".join(done) if done else f"tag {tag} already absent"


def tag_versions(repo: Path) -> list[Version]:
    """Versions that have a ``v<semver>`` tag, oldest first."""
    found = []
    for line in git(repo, "tag", "--list", "v*").splitlines():
        try:
            found.append(Version.parse(line.strip()[1:]))
        except ValueError:
            continue
    return sorted(found)


def last_good(
    repo: Repo,
    feed_dir: Annotated[Path, Arg(help="the update feed folder")],
    before: Annotated[
        str, Arg(type=optional_version_arg, help="the bad release (default: newest)")
    ] = "",
    to: Annotated[
        str, Arg(type=optional_version_arg, help="check this target instead of choosing")
    ] = "",
) -> str:
    """Name the release to roll back to: tagged, in the feed, not withdrawn, older than the bad.

    Also prints them as ``::output`` lines, so the runbook's later steps use exactly
    this pair (``{outputs.target}``, ``{outputs.bad}``).
    """
    from opsbooks_playbooks.actions import (
        feed,  # feed imports this module; import here, not at the top
    )

    current = feed.load(feed_dir)
    bad, target = feed.rollback_target(current, tag_versions(repo), before, to)
    release = current.find(target)
    if release is not None:
        feed.check_artifact(feed_dir, release)
    outputs = output_lines({"target": target, "bad": bad})
    return f"{target} (rolling back from {bad})\n{outputs}"


def branch_from_tag(
    repo: Repo,
    from_version: Annotated[str, Arg(type=version_arg, help="released version")],
    version: ReleaseVersion,
    branch: Annotated[
        str, Arg(type=no_option_arg, help="branch name (default: hotfix/<version>)")
    ] = "",
) -> str:
    """Create and check out a hotfix branch at tag v<from_version> for patch ``version``."""
    base, patch = Version.parse(from_version), Version.parse(version)
    if (patch.major, patch.minor) != (base.major, base.minor) or patch <= base:
        raise ActionError(
            f"{version} is not a patch release of {from_version}; use "
            f"{base.major}.{base.minor}.{base.patch + 1}"
        )
    if not local_tag_exists(repo, from_version):
        raise ActionError(f"tag {tag_name(from_version)} does not exist in {repo}; fetch tags")
    name = branch or f"hotfix/{version}"
    current = git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip()
    exists = bool(git(repo, "branch", "--list", name).strip())
    if current == name:
        return f"already on {name}"
    check_clean(repo)
    if exists:
        git(repo, "switch", "--quiet", name)
        return f"switched to existing branch {name}"
    git(repo, "switch", "--quiet", "--create", name, tag_name(from_version))
    return f"created branch {name} at {tag_name(from_version)}"


def cherry_pick(
    repo: Repo,
    commits: Annotated[
        Sequence[str], Arg("commits", type=no_option_arg, help="commit ids to apply, oldest first")
    ] = (),
) -> str:
    """Apply ``commits`` onto the current branch; a conflict is aborted and reported."""
    if not commits:
        raise ActionError("no commits given; pass the fix's commit ids")
    try:
        git(repo, "cherry-pick", "-x", *commits)
    except ActionError as exc:
        run(["git", "-C", str(repo), "cherry-pick", "--abort"])
        raise ActionError(
            f"cherry-pick failed and was aborted ({exc}); apply the fix by hand"
        ) from None
    return f"applied {len(commits)} commit(s)"


def push_branch(
    repo: Repo,
    branch: Annotated[str, Arg(type=no_option_arg, help="branch to push")],
    remote: Remote = "origin",
) -> str:
    """Push ``branch`` to the remote and track it."""
    git(repo, "push", "--quiet", "--set-upstream", "--", remote, f"{branch}:{branch}")
    return f"pushed {branch} to {remote}"


PROGRAM = program("git", __doc__)
PROGRAM.command(check_clean)
PROGRAM.command(check_version)
PROGRAM.command(check_changelog)
PROGRAM.command(check_tag_free)
PROGRAM.command(create_tag, name="tag")
PROGRAM.command(push_tag)
PROGRAM.command(delete_tag)
PROGRAM.command(last_good)
PROGRAM.command(branch_from_tag)
PROGRAM.command(cherry_pick)
PROGRAM.command(push_branch)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.git``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
