"""Ed25519 signing of release artifacts: keys, signatures, the feed's records of them (fast)."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from opsbooks_playbooks.actions import ActionError, UsageError, feed, signing
from opsbooks_playbooks.actions.feed_format import check_feeds, parse_appcast, render_appcast

BASE = "http://127.0.0.1:9/demo/"


def seed_of(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def pem_of(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_file(folder: Path, data: bytes, mode: int = 0o600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "release.key"
    path.write_bytes(data)
    path.chmod(mode)
    return path


def artifact(folder: Path, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"demo-{version}.tar.gz"
    path.write_bytes(f"artifact {version}\n".encode() * 40)
    return path


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, str]:
    """A key pair written by ``keygen``: the private key file and the public key text."""
    signing.keygen(tmp_path / "keys")
    public = (tmp_path / "keys" / signing.PUBLIC_FILE).read_text().strip()
    return tmp_path / "keys" / signing.KEY_FILE, public


def test_keygen_writes_a_private_pair_and_refuses_to_replace_it(tmp_path: Path) -> None:
    said = signing.keygen(tmp_path / "keys")
    private, public = tmp_path / "keys" / signing.KEY_FILE, tmp_path / "keys" / signing.PUBLIC_FILE
    assert private.stat().st_mode & 0o777 == 0o600 and public.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    text = public.read_text().strip()
    assert f"public key: {text}" in said and f'signing_public_key = "{text}"' in said
    key_text = private.read_bytes()
    assert key_text.startswith(b"-----BEGIN PRIVATE KEY-----")
    body = b"".join(key_text.splitlines()[1:-1]).decode()
    assert body not in said  # the private key is never printed
    with pytest.raises(UsageError, match=r"already holds ed25519\.key, ed25519\.pub"):
        signing.keygen(tmp_path / "keys")
    assert private.read_bytes() == key_text


def test_pem_raw_seed_and_env_base64_are_the_same_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    public = signing.public_text(key.public_key())
    data = artifact(tmp_path / "dist", "1.0.0")
    expected = signing.sign_bytes(key, data.read_bytes())
    pem = private_file(tmp_path / "pem", pem_of(key))
    raw = private_file(tmp_path / "raw", seed_of(key))
    b64 = private_file(tmp_path / "b64", base64.b64encode(seed_of(key)) + b"\n")
    for path in (pem, raw, b64):
        assert signing.sign_artifact(data, path, public, environ={}) == expected
    for value in (base64.b64encode(seed_of(key)).decode(), pem_of(key).decode()):
        env = {signing.ENV_KEY: value}
        assert signing.sign_artifact(data, None, public, environ=env) == expected
    # the environment wins over the file: a broken file does not matter then
    env = {signing.ENV_KEY: base64.b64encode(seed_of(key)).decode()}
    assert signing.sign_artifact(data, tmp_path / "nowhere", public, environ=env) == expected


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = private_file(tmp_path, pem_of(key), mode=0o644)
    data = artifact(tmp_path / "dist", "1.0.0")
    public = signing.public_text(key.public_key())
    with pytest.raises(UsageError) as caught:
        signing.sign_artifact(data, path, public, environ={})
    message = str(caught.value)
    assert "has mode 0644" in message and f"chmod 600 {path}" in message
    path.chmod(0o640)  # group-readable is as bad
    with pytest.raises(UsageError, match="has mode 0640"):
        signing.private_key(path, environ={})


def test_missing_or_malformed_keys_are_named_without_quoting_them(tmp_path: Path) -> None:
    data = artifact(tmp_path / "dist", "1.0.0")
    public = signing.public_text(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(UsageError, match="no signing key: set signing_key_file"):
        signing.sign_artifact(data, "", public, environ={})
    with pytest.raises(UsageError, match=r"does not exist; .*keygen DIR"):
        signing.sign_artifact(data, tmp_path / "absent.key", public, environ={})
    secret = "c2VjcmV0LW5vdC1hLWtleS1idXQtcHJpdmF0ZS10ZXh0"
    with pytest.raises(UsageError) as caught:
        signing.sign_artifact(data, None, public, environ={signing.ENV_KEY: secret})
    assert "is not an Ed25519 private key" in str(caught.value)
    assert secret not in str(caught.value)
    with pytest.raises(UsageError, match="no public key configured"):
        signing.sign_artifact(data, None, "", environ={signing.ENV_KEY: secret})
    with pytest.raises(UsageError, match="is not a base64 Ed25519 public key"):
        signing.load_public_key("bm90IGEga2V5")


def test_a_key_that_is_not_the_public_keys_pair_signs_nothing(
    tmp_path: Path, pair: tuple[Path, str]
) -> None:
    key_file, _ = pair
    other = signing.public_text(Ed25519PrivateKey.generate().public_key())
    data = artifact(tmp_path / "dist", "1.0.0")
    with pytest.raises(UsageError, match="is not the pair of signing_public_key"):
        signing.sign_artifact(data, key_file, other, environ={})
    feed_dir = tmp_path / "feed"
    with pytest.raises(UsageError, match="is not the pair"):
        feed.publish(
            feed_dir, "1.0.0", BASE, artifact=data, public_key=other, key_file=str(key_file)
        )
    assert not feed_dir.exists()  # deploy refuses to publish: nothing was written


def test_signatures_catch_a_tampered_file_and_a_wrong_key(pair: tuple[Path, str]) -> None:
    key_file, public = pair
    key, _ = signing.private_key(key_file, environ={})
    signature = signing.sign_bytes(key, b"release bytes")
    check = signing.load_public_key(public)
    assert signing.signature_problem(check, b"release bytes", signature) is None
    assert "does not verify" in (
        signing.signature_problem(check, b"release byteZ", signature) or ""
    )
    other = Ed25519PrivateKey.generate().public_key()
    assert "does not verify" in (
        signing.signature_problem(other, b"release bytes", signature) or ""
    )
    assert signing.signature_problem(check, b"x", "") == "it is not signed"
    assert "not base64 of 64 bytes" in (signing.signature_problem(check, b"x", "abc$") or "")


def test_publish_signs_into_the_appcast_feed_json_and_a_sig_file(
    tmp_path: Path, pair: tuple[Path, str]
) -> None:
    key_file, public = pair
    feed_dir, data = tmp_path / "feed", artifact(tmp_path / "dist", "1.0.0")
    said = feed.publish(
        feed_dir, "1.0.0", BASE, artifact=data, public_key=public, key_file=str(key_file)
    )
    assert "signed (Ed25519)" in said
    entry = json.loads((feed_dir / "feed.json").read_text())["releases"][0]
    check = signing.load_public_key(public)
    assert signing.signature_problem(check, data.read_bytes(), entry["ed_signature"]) is None
    sig = feed_dir / "demo-1.0.0.tar.gz.sig"
    assert sig.read_text() == entry["ed_signature"] + "\n"
    assert sig.stat().st_mode & 0o777 == 0o644  # public, like the artifact
    (item,) = parse_appcast((feed_dir / "appcast.xml").read_bytes())
    assert item.ed_signature == entry["ed_signature"] and item.length == data.stat().st_size
    assert 'sparkle:edSignature="' in (feed_dir / "appcast.xml").read_text()
    # re-running (a resumed run) is a no-op and keeps the .sig
    sig.unlink()
    again = feed.publish(
        feed_dir, "1.0.0", BASE, artifact=data, public_key=public, key_file=str(key_file)
    )
    assert "already published" in again and sig.read_text() == entry["ed_signature"] + "\n"
    # the undo takes the signature with the artifact
    feed.remove(feed_dir, "1.0.0")
    assert not sig.exists() and not (feed_dir / "demo-1.0.0.tar.gz").exists()


def test_publish_with_an_empty_public_key_refuses(tmp_path: Path, pair: tuple[Path, str]) -> None:
    key_file, _ = pair
    data = artifact(tmp_path / "dist", "1.0.0")
    with pytest.raises(UsageError, match="no public key configured: set signing_public_key"):
        feed.publish(
            tmp_path / "feed", "1.0.0", BASE, artifact=data, public_key="", key_file=str(key_file)
        )


def test_an_appcast_signature_that_disagrees_with_feed_json_fails_the_check(
    tmp_path: Path, pair: tuple[Path, str]
) -> None:
    key_file, public = pair
    feed_dir = tmp_path / "feed"
    data = artifact(tmp_path / "dist", "1.0.0")
    feed.publish(feed_dir, "1.0.0", BASE, artifact=data, public_key=public, key_file=str(key_file))
    current = feed.load(feed_dir)
    items = parse_appcast(render_appcast(current))
    assert check_feeds(current, items, "1.0.0", BASE).ed_signature
    forged = [type(i)(i.version, i.url, i.length, i.sha256, "") for i in items]
    with pytest.raises(ActionError, match=r"disagree about 1\.0\.0's enclosure"):
        check_feeds(current, forged, "1.0.0", BASE)


def signed_feed(tmp_path: Path, pair: tuple[Path, str], versions: list[str]) -> Path:
    key_file, public = pair
    feed_dir = tmp_path / "feed"
    for version in versions:
        data = artifact(tmp_path / "dist" / version, version)
        feed.publish(
            feed_dir, version, BASE, artifact=data, public_key=public, key_file=str(key_file)
        )
    return feed_dir


def test_each_kind_of_unverified_release_is_refused_with_its_reason(
    tmp_path: Path, pair: tuple[Path, str]
) -> None:
    _, public = pair
    feed_dir = signed_feed(tmp_path, pair, ["1.0.0", "1.1.0", "1.2.0"])
    unsigned = artifact(tmp_path / "dist" / "1.3.0", "1.3.0")
    feed.publish(feed_dir, "1.3.0", BASE, artifact=unsigned)  # published without a key
    (feed_dir / "demo-1.1.0.tar.gz.sig").unlink()  # a missing .sig
    tampered = feed_dir / "demo-1.2.0.tar.gz"
    tampered.write_bytes(tampered.read_bytes().replace(b"artifact", b"backdoor"))
    checked, refused = signing.verified_only(
        feed.load(feed_dir), feed_dir, signing.load_public_key(public)
    )
    assert refused == {
        "1.3.0": "it is not signed (feed.json has no ed_signature)",
        "1.2.0": "demo-1.2.0.tar.gz: its signature does not verify against the public key: "
        "the file changed after it was signed, or another key signed it",
        "1.1.0": "its detached signature demo-1.1.0.tar.gz.sig is missing",
    }
    assert [r.version for r in checked.active()] == ["1.0.0"]
    with pytest.raises(ActionError) as caught:
        signing.check_feed(feed_dir, public)
    assert "releases offered unverified: 1.3.0: it is not signed" in str(caught.value)


def test_a_sig_file_that_differs_from_the_feed_and_a_forged_checksum_are_refused(
    tmp_path: Path, pair: tuple[Path, str]
) -> None:
    _, public = pair
    feed_dir = signed_feed(tmp_path, pair, ["1.0.0", "1.1.0"])
    key = signing.load_public_key(public)
    (feed_dir / "demo-1.1.0.tar.gz.sig").write_text("QUJD\n")
    release = feed.load(feed_dir).find("1.1.0")
    assert release is not None
    assert signing.release_problem(feed_dir, release, key) == (
        "demo-1.1.0.tar.gz.sig differs from the signature in feed.json"
    )
    old = feed.load(feed_dir).find("1.0.0")
    assert old is not None and signing.release_problem(feed_dir, old, key) is None
    forged = type(old)(**{**old.__dict__, "sha256": "0" * 64})
    assert "does not match feed.json's sha256" in (
        signing.release_problem(feed_dir, forged, key) or ""
    )


def forge(feed_dir: Path, version: str, body: bytes) -> None:
    """Replace an artifact and rewrite feed.json's sha256 and size to match: only the
    signature can tell (someone who can write the feed folder but has not the key)."""
    current = feed.load(feed_dir)
    release = current.find(version)
    assert release is not None
    (feed_dir / release.file).write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    forged = replace(release, sha256=digest, size=len(body))
    releases = tuple(forged if r.version == version else r for r in current.releases)
    feed.save(feed_dir, replace(current, releases=releases))


def test_point_latest_never_offers_a_release_whose_signature_fails(
    tmp_path: Path, pair: tuple[Path, str]
) -> None:
    _, public = pair
    feed_dir = signed_feed(tmp_path, pair, ["1.0.0", "1.1.0", "1.2.0"])
    forge(feed_dir, "1.1.0", b"a backdoored build")
    before = (feed_dir / "feed.json").read_bytes()
    feed.check_artifact(feed_dir, feed.load(feed_dir).find("1.1.0"))  # type: ignore[arg-type]
    with pytest.raises(ActionError, match=r"1\.1\.0 is not offered again: .* does not verify"):
        feed.point_latest(feed_dir, "1.1.0", "1.2.0", public_key=public)
    assert (feed_dir / "feed.json").read_bytes() == before
    assert "latest is now 1.0.0" in feed.point_latest(feed_dir, "1.0.0", "1.2.0", public_key=public)


def test_the_signing_cli_signs_verifies_and_says_what_is_wrong(
    tmp_path: Path, pair: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert signing.main(["keygen", str(tmp_path / "cli-keys")]) == 0
    printed = (tmp_path / "cli-keys" / signing.PUBLIC_FILE).read_text().strip()
    assert f"public key: {printed}" in capsys.readouterr().out
    key_file, public = pair
    data = artifact(tmp_path / "dist", "1.0.0")
    assert (
        signing.main(
            ["sign", "--file", str(data), "--public-key", public, "--key-file", str(key_file)]
        )
        == 0
    )
    assert data.with_name(data.name + ".sig").is_file()
    assert signing.main(["verify", "--file", str(data), "--public-key", public]) == 0
    assert "signature verifies" in capsys.readouterr().out
    data.write_bytes(data.read_bytes() + b"x")
    assert signing.main(["verify", "--file", str(data), "--public-key", public]) == 1
    err = capsys.readouterr().err
    assert "demo-1.0.0.tar.gz is refused: its signature does not verify" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    data.with_name(data.name + ".sig").unlink()
    assert signing.main(["verify", "--file", str(data), "--public-key", public]) == 1
    assert "is missing: demo-1.0.0.tar.gz is not signed" in capsys.readouterr().err
    key_file.chmod(0o644)
    code = signing.main(
        ["sign", "--file", str(data), "--public-key", public, "--key-file", str(key_file)]
    )
    assert code == 2 and "chmod 600" in capsys.readouterr().err


def test_a_private_key_pasted_as_the_public_key_is_never_quoted(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    key_file = private_file(tmp_path / "keys", pem_of(key))
    data = artifact(tmp_path / "dist", "1.0.0")
    seed = base64.b64encode(seed_of(key)).decode()
    messages = []
    for pasted in (seed, pem_of(key).decode()):
        with pytest.raises(UsageError) as caught:
            signing.sign_artifact(data, key_file, pasted, environ={})
        messages.append(str(caught.value))
    assert not any(seed in m or "PRIVATE" in m for m in messages)
    # a 32-byte seed reads as some public key: the mismatch names the key's own public key
    assert f"its public key is {signing.public_text(key.public_key())}" in messages[0]
    assert "is not a base64 Ed25519 public key (32 bytes, 44 characters)" in messages[1]
