"""The release runbooks' params: what a release needs, where the feed is mirrored, the keys."""

from __future__ import annotations

from typing import Self

from pydantic import model_validator

import opsbooks as ob
from opsbooks_playbooks.actions import SEMVER_PATTERN


class FeedMirrorParams(ob.Params):
    """Where the feed is mirrored for users: web servers of the ``[hosts]`` table, or nowhere."""

    feed_host: ob.NoOption = ob.Field(
        "",
        description="Host or role of [hosts] whose web root mirrors the feed over SSH "
        "(empty: users are served the local feed folder)",
    )
    feed_path: ob.NoOption = ob.Field(
        "",
        description="Feed folder on feed_host, e.g. /srv/www/updates; may use {host.name} "
        "or host vars",
    )

    @model_validator(mode="after")
    def _path_with_host(self) -> Self:
        if bool(self.feed_host) != bool(self.feed_path):
            raise ValueError(
                "feed_host and feed_path go together: set both to mirror the feed to a "
                "host, or neither to use the local feed folder only"
            )
        return self


KEYGEN = "python -m opsbooks_playbooks.actions.signing keygen DIR"


class SigningParams(ob.Params):
    """The Ed25519 key pair the artifacts are signed with (Sparkle's edSignature)."""

    signing_public_key: ob.NoOption = ob.Field(
        "",
        description=f"Base64 Ed25519 public key users verify releases with (SUPublicEDKey); "
        f"`{KEYGEN}` prints it",
    )
    signing_key_file: ob.NoOption = ob.Field(
        "",
        description="Ed25519 private key file (PEM or raw 32-byte seed, mode 0600) that signs "
        "the artifacts; OPSBOOKS_SECRET_SIGNING_KEY wins over it",
    )
    signing_key: ob.SecretStr = ob.Field(
        ob.SecretStr(""),
        description="The private key itself (PEM or base64 seed), from "
        "OPSBOOKS_SECRET_SIGNING_KEY; never stored (empty: signing_key_file)",
    )


class _ReleaseBasics(ob.Params):
    """What every release needs, listed first in the docs."""

    version: str = ob.Field(
        pattern=SEMVER_PATTERN, description="Version to release, e.g. 1.4.0 (tagged v1.4.0)"
    )
    repo: ob.NoOption = ob.Field(description="Path of the working clone to release from")
    feed_dir: ob.NoOption = ob.Field(
        description="Folder of the update feed (feed.json, appcast.xml)"
    )
    base_url: ob.NoOption = ob.Field(description="Public URL the feed folder is served at")
    dist_dir: ob.NoOption = ob.Field(description="Build outputs go to <dist_dir>/<version>/")
    notes: str = ob.Field("", description="Release notes summary for the feed and announcement")
    build_command: str = ob.Field(
        "",
        description="Build command run in sh in a clean export of the tag; writes to $OUT_DIR"
        " (empty: a git archive tarball)",
    )
    artifacts_from: ob.NoOption = ob.Field(
        "",
        description="Folder or http(s) URL where the release workflow publishes "
        "<version>/SHA256SUMS and the artifacts; set it to wait for them instead of "
        "building here",
    )
    test_command: str = ob.Field(
        "", description="Test command run in sh in the repo before tagging (empty: skip)"
    )
    remote: ob.NoOption = ob.Field("origin", description="Git remote the tag is pushed to")
    verify_url: ob.NoOption = ob.Field(
        "", description="URL the feed is served at for verification (empty: serve it on loopback)"
    )

    @model_validator(mode="after")
    def _one_artifact_source(self) -> Self:
        if self.artifacts_from and self.build_command:
            raise ValueError(
                "artifacts_from and build_command exclude each other: either the release "
                "workflow builds the artifacts (artifacts_from) or this run does (build_command)"
            )
        return self


class ReleaseParams(FeedMirrorParams, SigningParams, _ReleaseBasics):
    """What a release needs; the sandbox's ``opsbooks.toml`` supplies all but the version."""
