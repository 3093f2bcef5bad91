"""Hotfix release: branch from the released tag, apply the fix, test, release as a patch."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.actions import SEMVER_PATTERN
from opsbooks_playbooks.release.deploy import (
    TROUBLE,
    FeedHostCheck,
    ReleaseParams,
    ReleaseSteps,
    action,
)


class HotfixParams(ReleaseParams):
    """A release's params plus the released version to branch from and the fix."""

    from_version: str = ob.Field(
        pattern=SEMVER_PATTERN, description="Released version to fix, e.g. 1.4.0 (tag v1.4.0)"
    )
    fix_commits: list[ob.NoOption] = ob.Field(
        default_factory=list,
        description="Commits carrying the fix, cherry-picked in order (empty: apply by hand)",
    )


class _HotfixPrep(FeedHostCheck, abstract=True):
    """Hotfix steps that come before the shared release steps."""

    branch_from_tag = ob.Command(
        action(
            "git branch-from-tag --repo {repo} --from-version {from_version} --version {version}"
        ),
        title="Branch from the released tag",
        description="Creates hotfix/{version} at v{from_version}; refuses a non-patch version.",
        irreversible="a local branch named for the hotfix; a later run reuses it",
    )
    cherry_pick = ob.Command(
        "python -m opsbooks_playbooks.actions.git cherry-pick --repo {repo} {fix_commits}",
        title="Cherry-pick the fix",
        when="fix_commits",
        irreversible="commits on the hotfix branch only, which is kept for the record",
    )
    apply_fix = ob.Manual(
        """
        Apply the fix on branch hotfix/{version} in {repo} and commit it. Keep it to the
        smallest change that fixes the problem; anything else waits for the next release.
        """,
        title="Apply the fix",
        when="not fix_commits",
    )
    prepare_release = ob.Manual(
        """
        In {repo}: set [project].version to {version} in pyproject.toml, add a
        '## [{version}] - <date>' CHANGELOG entry describing the fix, and commit.
        The next checks stop the run if either is missing.
        """,
        title="Bump the version and write the changelog entry",
    )


class Hotfix(ReleaseSteps, _HotfixPrep):
    """Ship an urgent fix to a released version as a patch release, through the release steps.

    Use it when a released version needs a fix that cannot wait for the next planned
    release. The fix is made on a branch from the released tag, so nothing unreleased
    ships with it; then the same checks, gate, tag, build, publish and verification as
    release.deploy run, with the same undo steps.
    """

    # Base classes listed later contribute their steps first: prep, then release.
    Params = HotfixParams
    title = "Hotfix Release"
    owner = "Release engineering"
    severity = "high"
    scope = (
        "Patch releases (x.y.Z) of a released version that fix a critical defect or a "
        "vulnerability. Not for features or planned releases (release.deploy)."
    )
    prerequisites = [
        "The defect is confirmed and the fix is reviewed",
        "The version to fix is released and tagged (v<from_version>)",
        "If the bad release is still offered, release.rollback has been considered",
    ]
    verification = [
        "Tag v<version> exists on the remote and points at the hotfix branch",
        "The tests passed on the hotfix branch",
        "feed.json and appcast.xml offer <version> as latest and its artifact matches",
        "The fix is merged back into main",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="branch_from_tag fails: `... is not a patch release of ...`",
            cause="The version is not <major>.<minor>.<patch+n> of from_version.",
            solution="Use the next patch number the message suggests.",
        ),
        ob.Trouble(
            symptom="cherry_pick fails: `cherry-pick failed and was aborted`",
            cause="The fix does not apply cleanly to the released code.",
            solution="Rerun without fix_commits and apply the fix by hand at apply_fix.",
        ),
        *TROUBLE,
    ]
    recovery = (
        "The same undo steps as release.deploy: unpublish, delete_remote_tag, delete_tag. "
        "The hotfix branch stays for another attempt. If the hotfix itself is bad after "
        "it finished, run release.rollback."
    )
    related = ["release.deploy", "release.rollback", "security.incident_response"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-11-28", "Executable version on the shared release steps"),
        ob.Change("2026-12-02", "Artifacts signed with Ed25519 (sparkle:edSignature, .sig)"),
    ]

    announce = ob.Notify(
        "Released hotfix {version} (fixes {from_version}). {notes}", title="Announce the hotfix"
    )
    push_branch = ob.Command(
        action("git push-branch --repo {repo} --branch hotfix/{version} --remote {remote}"),
        title="Push the hotfix branch",
        idempotent=True,
        irreversible="the pushed hotfix branch is kept for the record, as every released branch",
    )
    merge_back = ob.Manual(
        """
        Merge hotfix/{version} back into main (or cherry-pick the fix there) so the next
        release carries it, and close the follow-up ticket.
        """,
        title="Merge the fix back into main",
    )
