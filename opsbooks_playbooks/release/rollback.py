"""Release rollback: take a bad release out of the update feed and offer the last good one."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.actions import SEMVER_PATTERN
from opsbooks_playbooks.release.deploy import (
    KEYGEN,
    FeedHostCheck,
    FeedMirrorParams,
    action,
    mirror_feed_step,
)

_MAYBE_SEMVER = f"^$|{SEMVER_PATTERN}"


class _RollbackBasics(ob.Params):
    """Which release to take back and which to offer; empty means chosen for you."""

    to_version: str = ob.Field(
        "",
        pattern=_MAYBE_SEMVER,
        description="Release to offer again (empty: the last good release before the bad one)",
    )
    bad_version: str = ob.Field(
        "",
        pattern=_MAYBE_SEMVER,
        description="Release to take back (empty: the most recently published one)",
    )
    repo: ob.NoOption = ob.Field(
        description="Path of the working clone; its tags mark real releases"
    )
    feed_dir: ob.NoOption = ob.Field(
        description="Folder of the update feed (feed.json, appcast.xml)"
    )
    base_url: ob.NoOption = ob.Field(description="Public URL the feed folder is served at")
    verify_url: ob.NoOption = ob.Field(
        "", description="URL the feed is served at for verification (empty: serve it on loopback)"
    )
    follow_up_dir: ob.NoOption = ob.Field(
        "", description="Folder where the follow-up ticket is drafted (empty: no draft)"
    )
    signing_public_key: ob.NoOption = ob.Field(
        "",
        description="Base64 Ed25519 public key the releases are signed for; only releases "
        "whose signature verifies are offered again",
    )


class RollbackParams(FeedMirrorParams, _RollbackBasics):
    """Which release to take back and which to offer; empty means chosen for you."""


class Rollback(FeedHostCheck):
    """Roll back a release with critical issues: users are offered the last good one again.

    The bad release (and anything newer) is marked withdrawn in feed.json and dropped
    from the appcast, so Sparkle clients stop offering it; its tag and artifact stay
    for the investigation. The target is picked once, shown at the approval gate and
    recorded, so every later step, and a resumed run, uses the same one.
    """

    Params = RollbackParams
    title = "Release Rollback"
    owner = "Release engineering"
    severity = "high"
    scope = (
        "Releases published to the update feed that must stop reaching users. It changes "
        "the feed only; installed copies are not downgraded, and the fix ships later as "
        "a new release (release.hotfix or release.deploy)."
    )
    prerequisites = [
        "The problem is confirmed to be caused by the release",
        "The rollback is approved by the release owner or incident commander",
        "You can write to the feed folder (and SSH to the feed hosts when feed_host is set)",
    ]
    verification = [
        "feed.json's latest is the previous good release",
        "appcast.xml no longer lists the bad release; its highest version is the good one",
        "The good release's artifact downloads, matches its sha256 and its Ed25519 signature "
        "verifies against signing_public_key",
        "The rollback announcement is posted and a follow-up ticket exists",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="find_last_good fails: `no good release older than ...`",
            cause="Every earlier release is withdrawn, untagged or missing from the feed.",
            solution="Pass --to-version with a release you know is good, or ship a hotfix.",
        ),
        ob.Trouble(
            symptom="find_last_good fails: `... cannot be the rollback target`",
            cause="--to-version is not in the feed, is withdrawn, untagged or not older.",
            solution="Choose one of the candidates the message lists.",
        ),
        ob.Trouble(
            symptom="point_latest fails: `... is missing or does not match the feed`",
            cause="The good release's artifact was deleted or altered in the feed folder.",
            solution=(
                "Restore it from dist/<version>/ (check with sha256sum -c SHA256SUMS), then resume."
            ),
        ),
        ob.Trouble(
            symptom="Artifacts not signed / signature does not verify: find_last_good says "
            "`refused: 1.0.5: ... its signature does not verify` or `... is not signed`, "
            "or point_latest or verify_feed says `... is refused`",
            cause=(
                "That release's artifact or .sig changed after it was signed, it was "
                "published unsigned, or signing_public_key in config is not the key the "
                "releases were signed with."
            ),
            solution=(
                "Check the signing key and the public key in config (`python -m "
                "opsbooks_playbooks.actions.signing check-feed --feed-dir FEED --public-key KEY` "
                "names every bad release); restore a tampered artifact from dist/<version>/ "
                f"or roll back to a verified one. Regenerate with `{KEYGEN}` only if the key "
                "was lost or leaked, and ship the new public key in a new release."
            ),
        ),
        ob.Trouble(
            symptom="verify_feed still sees the bad release",
            cause="A CDN or proxy cache serves the old feed.json or appcast.xml.",
            solution="Purge the cache for both files; the step retries before failing.",
        ),
    ]
    recovery = (
        "Nothing here is deleted: withdrawn releases stay in feed.json (withdrawn: true) "
        "with their artifacts and tags. To undo a rollback, publish a new release; do "
        "not re-point latest at the withdrawn one. If the run stops half-way, run it "
        "again with the same parameters: it picks the same target and skips done work."
    )
    related = ["release.deploy", "release.hotfix", "security.incident_response"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-11-28", "Executable version: withdraw, re-point, verify", "release"),
        ob.Change("2026-12-02", "Only releases whose Ed25519 signature verifies", "release"),
    ]

    find_last_good = ob.Command(
        action(
            "signing last-good --repo {repo} --feed-dir {feed_dir} "
            "--public-key {signing_public_key} --before {bad_version} --to {to_version}"
        ),
        title="Identify the last good, verified release",
        description=(
            "Picks the target: the highest release below the bad one that is tagged, in "
            "the feed, not withdrawn, whose artifact is present and whose Ed25519 "
            "signature (feed.json and .sig) verifies; or checks --to-version. It lists "
            "the verified candidates and names each refused one with the reason. Every "
            "later step uses this pair."
        ),
        outputs=("target", "bad"),
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    approve = ob.Gate.confirm(
        "Rollback approved? The feed stops offering {outputs.bad} (and anything newer) "
        "and offers {outputs.target} again.",
        phrase="rollback",
        title="Approve the rollback",
        description=(
            "The target is a verified release: signed, its signature checked against the "
            "public key. Read find_last_good's output: it lists the verified candidates and "
            "every refused one with the reason. Type `rollback` to confirm. The approver "
            "is recorded in the journal."
        ),
    )
    point_latest = ob.Command(
        action(
            "feed point-latest --feed-dir {feed_dir} --version {outputs.target} "
            "--bad {outputs.bad} --repo {repo} --public-key {signing_public_key}"
        ),
        title="Point the feeds back to the good release",
        description=(
            "Checks the target's signature again, then sets latest to it and withdraws "
            "every release above it."
        ),
        idempotent=True,
        irreversible="the rollback itself: its undo is a new release (release.deploy)",
    )
    mirror_feed = mirror_feed_step(
        "Mirror the rolled-back feed to the feed hosts",
        "Uploads appcast.xml and feed.json, each moved into place, so the hosts stop "
        "offering the bad release; artifacts stay for the investigation.",
        irreversible="mirrors the rolled-back feed: its undo is a new release (release.deploy)",
    )
    verify_mirror = ob.Verify(
        action(
            "feed_remote verify --feed-dir {feed_dir} --host {feed_host} --path {feed_path} "
            "--version {outputs.target} --base-url {base_url}"
        ),
        title="Verify the feed on each feed host",
        when="feed_host",
        expect="every host offers {outputs.target} as latest, exactly as the local feed does",
    )
    verify_feed = ob.Verify(
        action(
            "feed verify --feed-dir {feed_dir} --version {outputs.target} "
            "--url {verify_url} --base-url {base_url} --public-key {signing_public_key}"
        ),
        title="Verify the served feed",
        expect=(
            "both feeds offer {outputs.target} as latest, its artifact matches and its "
            "Ed25519 signature verifies"
        ),
        retry=ob.Retry(attempts=5, wait=3, backoff=2, max_wait=30),
    )
    announce = ob.Notify(
        "Rolled back: the update feed offers {outputs.target} again instead of "
        "{outputs.bad} and the releases above it. A fix will follow in a new release.",
        title="Announce the rollback",
    )
    draft_follow_up = ob.Command(
        action(
            "followup write --dir {follow_up_dir} --bad {outputs.bad} --target {outputs.target}"
        ),
        title="Draft the follow-up ticket",
        when="follow_up_dir",
        description="Writes what was taken back, the run's report and a to-do list.",
        idempotent=True,
        irreversible="a draft ticket file, kept for the follow-up",
    )
    follow_up = ob.Manual(
        """
        Open a follow-up ticket for the fix (from the draft in the follow-up folder when
        one was written): what broke in {outputs.bad}, a link to this run's report, an
        owner, and the version that will carry the fix (ship it with release.hotfix or
        release.deploy). Post the ticket in the announcement thread.
        """,
        title="Open a follow-up ticket for the fix",
    )
