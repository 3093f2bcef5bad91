"""Signed releases end to end: the real opsbooks CLI deploys and rolls back in a real sandbox.

One sandbox for the module: deploy 1.1.0 through the engine with the private key in
``OPSBOOKS_SECRET_SIGNING_KEY`` (the key file moved away, so only the secret can sign),
then publish 1.2.0, forge 1.1.0 the way someone with write access to the feed folder
but without the key would, and watch rollback and verify_feed refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import opsbooks as ob
from opsbooks.plan.binding import with_outputs
from opsbooks_playbooks.actions import feed, sandbox, signing
from opsbooks_playbooks.actions.artifacts import build
from opsbooks_playbooks.actions.git import create_tag, push_tag
from opsbooks_playbooks.release.rollback import Rollback

pytestmark = pytest.mark.slow  # git, sh and the opsbooks CLI in subprocesses

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


@dataclass(frozen=True)
class Deployed:
    box: Path
    key_file: Path  # outside the sandbox: the sandbox's config names a file that is gone
    secrets: tuple[str, ...]  # every text form of the private key
    public: str
    refused: subprocess.CompletedProcess[str]  # the first deploy, with an unsafe key file
    run: subprocess.CompletedProcess[str]
    report: dict[str, object]


def cli(box: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "opsbooks"), *args],
        cwd=box,
        env={**ENV, **env},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=120,
    )


def key_texts(key_file: Path) -> tuple[str, ...]:
    """The private key as base64 seed (what the environment holds), PEM body and hex."""
    key, _ = signing.private_key(key_file, environ={})
    pem = key_file.read_text()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = "".join(pem.strip().splitlines()[1:-1])
    return base64.b64encode(raw).decode(), body, raw.hex()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("signed")
    box = root / "sandbox"
    sandbox.create(box, date="2026-11-01")
    sandbox.bump(box, "1.1.0", notes="Say goodbye too")
    (box / "signing" / signing.KEY_FILE).chmod(0o644)  # as a careless copy leaves it
    refused = cli(box, "run", "release.deploy", "--version", "1.1.0", "--start-at", "tag", "--yes")
    key_file = root / "vault" / "ed25519.key"
    key_file.parent.mkdir(mode=0o700)
    shutil.move(box / "signing" / signing.KEY_FILE, key_file)
    key_file.chmod(0o600)
    secrets = key_texts(key_file)
    env = {"OPSBOOKS_USER": "release-operator", signing.ENV_KEY: secrets[0]}
    run = cli(box, "run", "release.deploy", "--version", "1.1.0", "--yes", **env)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(cli(box, "report", "last", "--format", "json").stdout)
    yield Deployed(box, key_file, secrets, sandbox.public_key_of(box), refused, run, report)


def test_deploy_refuses_to_publish_with_an_unsafe_key_and_undoes_the_tag(
    deployed: Deployed,
) -> None:
    refused = deployed.refused
    assert refused.returncode == 1, refused.stdout + refused.stderr
    said = refused.stdout + refused.stderr
    assert "has mode 0644: other users can read the private key" in said
    assert "chmod 600" in said and "Traceback" not in said
    assert "publish" in refused.stdout and "delete_remote_tag" in refused.stdout
    # the run that followed succeeded on a clean slate: the refused one left no feed entry
    assert "created tag v1.1.0" in deployed.run.stdout


def test_deploy_signs_the_artifact_and_verify_feed_checks_it(deployed: Deployed) -> None:
    box, public = deployed.box, deployed.public
    release = feed.load(box / "feed").find("1.1.0")
    assert release is not None and release.ed_signature
    artifact = box / "feed" / release.file
    check = signing.load_public_key(public)
    assert signing.signature_problem(check, artifact.read_bytes(), release.ed_signature) is None
    assert (box / "feed" / f"{release.file}.sig").read_text().strip() == release.ed_signature
    appcast = (box / "feed" / "appcast.xml").read_text()
    assert f'sparkle:edSignature="{release.ed_signature}"' in appcast
    assert f'length="{artifact.stat().st_size}"' in appcast
    steps = {s["step"]: s for s in deployed.report["steps"]}  # type: ignore[attr-defined]
    assert steps["publish"]["status"] == "succeeded"
    assert steps["verify_feed"]["status"] == "succeeded"
    assert "its Ed25519 signature verifies" in deployed.run.stdout
    assert "signed (Ed25519)" in deployed.run.stdout


def test_the_private_key_is_in_no_argv_journal_audit_output_or_file(deployed: Deployed) -> None:
    box = deployed.box
    commands = [
        str(s.get("command") or "")
        for s in deployed.report["steps"]  # type: ignore[attr-defined]
    ]
    publish = next(c for c in commands if "opsbooks_playbooks.actions.feed publish " in c)
    assert f"--public-key {deployed.public}" in publish  # the public key is configuration
    assert "--key-file" in publish and signing.ENV_KEY not in publish
    shown = [deployed.run.stdout, deployed.run.stderr, json.dumps(deployed.report), *commands]
    stored = [p.read_bytes() for p in box.rglob("*") if p.is_file()]  # journal, audit, feed...
    assert any(b"publish" in data for data in stored)  # the journal and audit are in there
    for secret in deployed.secrets:
        assert not any(secret in text for text in shown), "the key reached the output or argv"
        assert not any(secret.encode() in data for data in stored), "the key reached a file"


def forge(feed_dir: Path, version: str, body: bytes) -> None:
    """Replace an artifact and make feed.json's sha256 and size agree: only the signature,
    which needs the private key, can tell."""
    current = feed.load(feed_dir)
    release = current.find(version)
    assert release is not None
    (feed_dir / release.file).write_bytes(body)
    forged = replace(release, sha256=hashlib.sha256(body).hexdigest(), size=len(body))
    releases = tuple(forged if r.version == version else r for r in current.releases)
    feed.save(feed_dir, replace(current, releases=releases))


def publish_signed(deployed: Deployed, version: str) -> None:
    box, app = deployed.box, deployed.box / "app"
    sandbox.bump(box, version)
    create_tag(app, version, f"Release {version}")
    push_tag(app, version)
    build(app, version, box / "dist" / version)
    feed.publish(
        box / "feed",
        version,
        sandbox.BASE_URL,
        manifest_dir=box / "dist" / version,
        public_key=deployed.public,
        key_file=str(deployed.key_file),
    )


def test_rollback_and_verify_feed_refuse_a_forged_release(deployed: Deployed) -> None:
    box = deployed.box
    publish_signed(deployed, "1.2.0")
    forge(box / "feed", "1.1.0", b"a backdoored demo-app 1.1.0\n")
    before = (box / "feed" / "feed.json").read_bytes()

    answers = box / "answers.yaml"
    answers.write_text("approve: rollback\nfollow_up: done\n")
    asked = cli(box, "run", "release.rollback", "--to-version", "1.1.0", "--answers", str(answers))
    assert asked.returncode == 1, asked.stdout + asked.stderr
    assert (
        "1.1.0 cannot be the rollback target: demo-app-1.1.0.tar.gz: its signature does not "
        "verify against the public key"
    ) in asked.stdout + asked.stderr
    assert (box / "feed" / "feed.json").read_bytes() == before  # nothing was offered

    done = cli(box, "run", "release.rollback", "--answers", str(answers))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1.0.0 (rolling back from 1.2.0)" in done.stdout
    assert "verified: 1.0.0" in done.stdout
    assert "refused: 1.1.0: demo-app-1.1.0.tar.gz: its signature does not verify" in done.stdout
    report = cli(box, "report", "last").stdout
    assert "offers 1.0.0 again. | True |" in report  # the gate offered the verified one
    rolled = feed.load(box / "feed")
    assert rolled.latest == "1.0.0" and [r.version for r in rolled.active()] == ["1.0.0"]

    # verify_feed, as the rollback runs it: a forged latest fails with the reason ...
    forge(box / "feed", "1.0.0", b"a backdoored demo-app 1.0.0\n")
    params = Rollback.Params(**rollback_defaults(box))  # as the sandbox configures it
    step = with_outputs(
        ob.plan(Rollback, params).get("verify_feed"), params, {"target": "1.0.0", "bad": "1.2.0"}
    )
    failed = subprocess.run(
        ["sh", "-c", step.command or ""], env=ENV, capture_output=True, text=True, check=False
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stderr.strip().endswith(
        "1.0.0 is refused: its signature does not verify against the public key: the file "
        "changed after it was signed, or another key signed it. Check the signing key and "
        "signing_public_key, then publish a new release (see the runbook's troubleshooting)"
    )
    assert "Traceback" not in failed.stderr
    # ... which checksums alone would not have caught
    assert "feed offers 1.0.0" in feed.verify(box / "feed", "1.0.0", base_url=sandbox.BASE_URL)


def rollback_defaults(box: Path) -> dict[str, str]:
    table = tomllib.loads((box / "opsbooks.toml").read_text())["params"]["release.rollback"]
    assert table["signing_public_key"]  # the sandbox configures the public key
    return dict(table)
