"""Release deployment: check, tag, build, publish to the update feed, verify, announce."""

from __future__ import annotations

from typing import Any

import opsbooks as ob
from opsbooks_playbooks.release.params import KEYGEN, FeedMirrorParams, ReleaseParams, SigningParams
from opsbooks_playbooks.release.sandboxed import SandboxedRelease

__all__ = [
    "KEYGEN",
    "TROUBLE",
    "Deploy",
    "FeedHostCheck",
    "FeedMirrorParams",
    "ReleaseParams",
    "ReleaseSteps",
    "SigningParams",
    "action",
    "mirror_feed_step",
]


def action(line: str) -> list[str]:
    """Argv of ``python -m opsbooks_playbooks.actions.<line>``: what an operator types by hand.

    ``line`` is split on spaces before binding, so each ``{param}`` stays one argument
    whatever its value holds.
    """
    module, *args = line.split()
    return ["python", "-m", f"opsbooks_playbooks.actions.{module}", *args]


MIRROR = "feed_remote mirror --feed-dir {feed_dir} --host {feed_host} --path {feed_path}"


def mirror_feed_step(title: str, description: str, **options: Any) -> ob.Command:
    """The step that makes the feed hosts say what the local feed says (skipped without)."""
    return ob.Command(
        action(MIRROR),
        title=title,
        description=description,
        when="feed_host",
        idempotent=True,
        retry=ob.Retry(attempts=3, wait=5),
        **options,
    )


class FeedHostCheck(SandboxedRelease, abstract=True):
    """First of all, when the feed is mirrored: are the feed hosts there and writable?"""

    check_feed_host = ob.Command(
        action("feed_remote check --host {feed_host} --path {feed_path}"),
        title="Check the feed hosts are reachable and writable",
        when="feed_host",
        description=(
            "Connects to each feed host (host keys checked) and tests its folder, before "
            "anything else runs."
        ),
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )


class ReleaseSteps(FeedHostCheck, abstract=True):
    """The steps every release shares, from pre-flight checks to the announcement."""

    check_clean = ob.Command(
        action("git check-clean --repo {repo}"),
        title="Check the working tree is clean",
        description="Uncommitted or untracked files would not be in the tag.",
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    check_version = ob.Command(
        action("git check-version --repo {repo} --version {version}"),
        title="Check the version number",
        description="pyproject.toml's [project].version must say the version being released.",
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    check_changelog = ob.Command(
        action("git check-changelog --repo {repo} --version {version}"),
        title="Check the changelog has an entry",
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    check_tag_free = ob.Command(
        action("git check-tag-free --repo {repo} --version {version} --remote {remote}"),
        title="Check the tag does not exist yet",
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    check_newer = ob.Command(
        action("feed check-newer --feed-dir {feed_dir} --version {version}"),
        title="Check the version is newer than the feed's latest",
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    run_tests = ob.Command(
        "cd {repo} && sh -c -- {test_command}",
        title="Run the tests",
        when="test_command",
        timeout="30m",
        description="Runs the configured test command; skipped when none is configured.",
        irreversible="tests write only their own temporary files",
    )
    review_notes = ob.Gate.confirm(
        "Release notes for {version} reviewed and the release approved?",
        title="Confirm release notes and approval",
        description=(
            "Read the CHANGELOG entry for {version} as a user would. Say yes only if the "
            "notes are complete and the release owner has approved it."
        ),
    )
    tag = ob.Command(
        action("git tag --repo {repo} --version {version}"),
        title="Create the release tag",
        undo="delete_tag",
    )
    push_tag = ob.Command(
        action("git push-tag --repo {repo} --version {version} --remote {remote}"),
        title="Push the tag",
        undo="delete_remote_tag",
        idempotent=True,
        retry=ob.Retry(attempts=3, wait=5),
    )
    build = ob.Command(
        action(
            "artifacts build --repo {repo} --version {version} --out {dist_dir}/{version} "
            "--command={build_command}"
        ),
        title="Build the artifacts and their checksums",
        description="Builds from the tag, never the working tree, and writes SHA256SUMS.",
        when="not artifacts_from",
        idempotent=True,
        timeout="1h",
        irreversible="writes only this version's build folder, rebuilt from the tag on a re-run",
    )
    wait_for_artifacts = ob.WaitUntil(
        action(
            "workflow fetch --from {artifacts_from} --version {version} --out {dist_dir}/{version}"
        ),
        title="Wait for the release workflow's artifacts",
        description=(
            "The tag push starts the release workflow; this polls for its "
            "<version>/SHA256SUMS and fetches every file it lists, each checked."
        ),
        when="artifacts_from",
        poll=ob.Poll(interval=30, timeout=3600, backoff=1.5, max_interval=120),
        idempotent=True,
    )
    verify_manifest = ob.Verify(
        action("artifacts verify-manifest --dir {dist_dir}/{version}"),
        title="Verify the artifacts against SHA256SUMS",
        expect="every artifact matches its checksum and nothing unlisted is present",
    )
    publish = ob.Command(
        action(
            "feed publish --feed-dir {feed_dir} --version {version} "
            "--from-manifest {dist_dir}/{version} --base-url {base_url} --notes={notes} "
            "--public-key {signing_public_key} --key-file {signing_key_file}"
        ),
        title="Sign and publish to the update feed",
        description=(
            "Signs the artifact with Ed25519 and checks the signature with the configured "
            "public key (no key, a key file others can read, or a key that is not the "
            "public key's pair publishes nothing), then copies the artifact and its .sig "
            "into the feed and makes {version} the latest, its appcast item carrying "
            "sparkle:edSignature."
        ),
        env={"OPSBOOKS_SECRET_SIGNING_KEY": "{signing_key}"},
        undo="unpublish",
        idempotent=True,
    )
    mirror_feed = mirror_feed_step(
        "Mirror the feed to the feed hosts",
        "Uploads the new artifact (checked by sha256 on the host), then appcast.xml "
        "and feed.json, each moved into place, so users never see a feed naming a "
        "missing file.",
        undo="unmirror",
        undo_on_failure=True,
    )
    verify_mirror = ob.Verify(
        action(
            "feed_remote verify --feed-dir {feed_dir} --host {feed_host} --path {feed_path} "
            "--version {version} --base-url {base_url}"
        ),
        title="Verify the feed on each feed host",
        when="feed_host",
        expect=(
            "feed.json on each host equals the local one, offers {version} as latest, and "
            "every artifact on the host matches its sha256"
        ),
    )
    verify_feed = ob.Verify(
        action(
            "feed verify --feed-dir {feed_dir} --version {version} "
            "--url {verify_url} --base-url {base_url} --public-key {signing_public_key}"
        ),
        title="Verify the served feed, download and signature",
        expect=(
            "feed.json and appcast.xml offer {version} as latest, and the downloaded "
            "artifact matches the feed's size and sha256 and its Ed25519 signature "
            "(appcast and .sig) verifies against the public key"
        ),
        retry=ob.Retry(attempts=5, wait=3, backoff=2, max_wait=30),
    )
    announce = ob.Notify("Released {version}. {notes}", title="Announce the release")

    delete_tag = ob.Command(
        action("git delete-tag --repo {repo} --version {version} --remote {remote} --where local"),
        title="Delete the local tag",
        idempotent=True,
    )
    delete_remote_tag = ob.Command(
        action("git delete-tag --repo {repo} --version {version} --remote {remote} --where remote"),
        title="Delete the pushed tag",
        idempotent=True,
    )
    unmirror = ob.Command(
        action(f"{MIRROR} --exclude-version {{version}}"),
        title="Take the release off the feed hosts",
        description=(
            "Mirrors the feed as it was without {version} and deletes its artifact and .sig."
        ),
        idempotent=True,
    )
    unpublish = ob.Command(
        action("feed remove --feed-dir {feed_dir} --version {version}"),
        title="Remove the release from the feed",
        idempotent=True,
    )


TROUBLE = [
    ob.Trouble(
        symptom="check_clean fails: `working tree ... is not clean`",
        cause="Uncommitted or untracked files in the clone; the tag would not contain them.",
        solution="Commit what belongs in the release, remove or ignore the rest, run again.",
    ),
    ob.Trouble(
        symptom="check_version or check_changelog fails",
        cause="The version bump or the changelog entry was not committed.",
        solution=(
            "Set [project].version, add '## [<version>] - <date>' with notes to "
            "CHANGELOG.md, commit, push, then resume the run."
        ),
    ),
    ob.Trouble(
        symptom="check_tag_free or check_newer fails",
        cause="That version was already tagged or published, or is older than the latest.",
        solution="Release a higher version; never move or reuse a published tag.",
    ),
    ob.Trouble(
        symptom="push_tag fails with `rejected` or a permission error",
        cause="The remote has a different tag of that name, or you cannot push tags.",
        solution="Check `git ls-remote --tags <remote>` and your access; the run rolls back.",
    ),
    ob.Trouble(
        symptom="wait_for_artifacts times out: `... is not there yet`",
        cause="The release workflow did not run for the tag, failed, or publishes elsewhere.",
        solution=(
            "Check the workflow run of tag v<version>; fix and re-run it, then resume. The "
            "step polls every 30s (backing off to 2 min) for an hour."
        ),
    ),
    ob.Trouble(
        symptom="publish fails: `... holds 2 artifacts; pass --artifact FILE`",
        cause="The build command wrote several files; the feed offers one download a release.",
        solution="Make the build write a single archive to $OUT_DIR, then resume at build.",
    ),
    ob.Trouble(
        symptom="verify_feed fails: `sha256 ... the feed says ...` or a size mismatch",
        cause="The artifact was corrupted in transit or by a cache, or replaced after publish.",
        solution=(
            "Purge the CDN cache for the artifact URL and resume; if it persists, let the "
            "run roll back (unpublish) and release again."
        ),
    ),
    ob.Trouble(
        symptom="check_feed_host or mirror_feed fails: `host key ... not in known_hosts`, "
        "`connection refused` or `not writable`",
        cause="The feed host is new to this machine, down, or its folder belongs to another user.",
        solution=(
            "Add the host key with `ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts` after "
            "checking its fingerprint, start the host, or fix the folder's owner; then resume."
        ),
    ),
    ob.Trouble(
        symptom="verify_mirror fails: `... differs from the local feed folder's` or an "
        "artifact does not match",
        cause="Someone changed the host's folder by hand, or a copy was cut short.",
        solution="Resume the run: mirror_feed re-uploads only what differs.",
    ),
    ob.Trouble(
        symptom="Artifacts not signed / signature does not verify: publish fails with `no "
        "signing key`, `has mode 0644` or `is not the pair of signing_public_key`, or "
        "verify_feed says `... is refused: its signature does not verify`",
        cause=(
            "The signing key is missing, readable by others, or not the pair of the public "
            "key in config; or the artifact or its .sig changed after signing."
        ),
        solution=(
            "Check the signing key (signing_key_file, mode 0600, or "
            "OPSBOOKS_SECRET_SIGNING_KEY) and signing_public_key in config: "
            "`python -m opsbooks_playbooks.actions.signing verify --file FEED/ARTIFACT "
            "--public-key KEY` says which. If the key is lost or leaked, regenerate with "
            f"`{KEYGEN}`, put the new public key in config and ship it to users in a "
            "release signed with the old key; then resume (publish signs again)."
        ),
    ),
    ob.Trouble(
        symptom="verify_feed fails: `cannot fetch` or HTTP 404",
        cause="The feed folder is not served at verify_url, or not yet propagated.",
        solution="Check the web server serves the folder; the step retries 5 times.",
    ),
]


class Deploy(ReleaseSteps):
    """Release a new version: checks, tag, build, publish to the update feed, verify, announce.

    Use it for every planned release. It stops before changing anything when the tree
    is dirty, the version or changelog is wrong, the tag exists or the version is not
    newer than the feed's latest; a failure after the tag is created undoes the tag,
    the pushed tag and the feed entry.
    """

    Params = ReleaseParams
    title = "Release Deployment"
    owner = "Release engineering"
    scope = (
        "Planned releases of the application: tag, artifacts, update feed (feed.json and "
        "the Sparkle appcast). Not for urgent fixes to a released version (release.hotfix) "
        "or taking a release back (release.rollback)."
    )
    prerequisites = [
        "The release is tested and approved by its owner",
        "The version bump and CHANGELOG entry are committed and pushed",
        "Release notes are prepared",
        "You can push tags to the remote and write to the feed folder",
        "The Ed25519 signing key (mode 0600, or OPSBOOKS_SECRET_SIGNING_KEY) and its public "
        "key in config",
        "With feed_host set: SSH access to the feed hosts, their keys in known_hosts",
    ]
    verification = [
        "Tag v<version> exists on the remote",
        "dist/<version>/SHA256SUMS matches the artifacts",
        "feed.json and appcast.xml offer <version> as latest",
        "The artifact's Ed25519 signature (appcast sparkle:edSignature and <artifact>.sig) "
        "verifies against signing_public_key",
        "With feed_host set: every feed host's folder equals the local feed folder",
        "The artifact downloads and matches the feed's sha256 and size",
        "The release announcement is posted",
    ]
    troubleshooting = TROUBLE
    recovery = (
        "Each changing step has an undo: mirror_feed -> unmirror (the hosts get the feed "
        "without this release), publish -> unpublish (feed remove), push_tag -> "
        "delete_remote_tag, tag -> delete_tag. On failure they run in reverse order, so "
        "the feed never points at a missing artifact. If the release is bad after it "
        "finished, run release.rollback; never re-tag a published version."
    )
    related = ["release.rollback", "release.hotfix"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-11-28", "Executable version with feed verification over HTTP", "release"),
        ob.Change("2026-12-02", "Ed25519-signed artifacts (sparkle:edSignature, .sig)", "release"),
    ]
