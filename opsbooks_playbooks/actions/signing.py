"""Ed25519 signatures of release artifacts, as Sparkle checks them (``sparkle:edSignature``).

The private key signs the artifact's bytes; the signature (base64) goes into the
feed (``feed.json``'s ``ed_signature``, the appcast's ``sparkle:edSignature``) and
into a detached ``<artifact>.sig`` beside the artifact. Users verify with the public
key (base64 of its 32 bytes, Sparkle's ``SUPublicEDKey``), which is configuration.

The private key is a secret. It comes from the environment variable
``OPSBOOKS_SECRET_SIGNING_KEY`` (PEM or base64 of the 32-byte seed), else from a key
file (PEM, a raw 32-byte seed, or its base64) that only its owner may read (0600).
It is never an argument, never printed, never written anywhere but by ``keygen``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from opsbooks.actions import Arg, output_lines
from opsbooks_playbooks.actions import (
    ActionError,
    UsageError,
    Version,
    optional_version_arg,
    program,
)
from opsbooks_playbooks.actions.feed_format import Feed, Release

ENV_KEY = "OPSBOOKS_SECRET_SIGNING_KEY"
KEY_FILE = "ed25519.key"
PUBLIC_FILE = "ed25519.pub"
SIG_SUFFIX = ".sig"
KEYGEN = "python -m opsbooks_playbooks.actions.signing keygen DIR"
_SEED = 32


def sig_name(artifact: str) -> str:
    """The detached signature's file name beside ``artifact``."""
    return artifact + SIG_SUFFIX


def sig_text(signature: str) -> bytes:
    """The bytes of a ``.sig`` file holding ``signature`` (base64, one line)."""
    return signature.encode() + b"\n"


def _decode_b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _private_from(data: bytes, source: str) -> Ed25519PrivateKey:
    """Read a PEM key, a raw 32-byte seed or its base64; errors never quote the key."""
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            key = None
        if isinstance(key, Ed25519PrivateKey):
            return key
    elif len(data) == _SEED:
        return Ed25519PrivateKey.from_private_bytes(data)
    else:
        seed = _decode_b64(data.decode("ascii", "replace"))
        if seed is not None and len(seed) == _SEED:
            return Ed25519PrivateKey.from_private_bytes(seed)
    raise UsageError(
        f"{source} is not an Ed25519 private key (an unencrypted PEM, a raw 32-byte "
        f"seed or its base64); generate a key pair with `{KEYGEN}`"
    )


def _read_key_file(path: Path) -> bytes:
    try:
        info = path.stat()
    except OSError:
        raise UsageError(
            f"signing key file {path} does not exist; set signing_key_file to the private "
            f"key, or create a key pair with `{KEYGEN}`"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"signing key file {path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise UsageError(
            f"signing key file {path} has mode {mode:04o}: other users can read the private "
            f"key. Make it private with `chmod 600 {path}`, and make a new key pair if it "
            f"may have been copied"
        )
    return path.read_bytes()


def private_key(
    key_file: str | Path | None, environ: Mapping[str, str] | None = None
) -> tuple[Ed25519PrivateKey, str]:
    """The signing key and where it came from: ``OPSBOOKS_SECRET_SIGNING_KEY``, else the file."""
    env = os.environ if environ is None else environ
    text = env.get(ENV_KEY, "")
    if text.strip():
        return _private_from(text.encode(), f"the environment variable {ENV_KEY}"), ENV_KEY
    if not key_file:
        raise UsageError(
            f"no signing key: set signing_key_file to an Ed25519 key file (mode 0600) or "
            f"the environment variable {ENV_KEY}; create a key pair with `{KEYGEN}`"
        )
    path = Path(key_file)
    return _private_from(_read_key_file(path), f"signing key file {path}"), str(path)


def load_public_key(text: str) -> Ed25519PublicKey:
    """Read the configured public key: base64 of its 32 bytes (or a PEM public key)."""
    if not text.strip():
        raise UsageError(
            "no public key configured: set signing_public_key to the base64 Ed25519 public "
            f"key (`{KEYGEN}` prints it) so signatures can be checked"
        )
    if text.lstrip().startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode())
        except (ValueError, TypeError):
            key = None
        if isinstance(key, Ed25519PublicKey):
            return key
    raw = _decode_b64(text)
    if raw is None or len(raw) != _SEED:  # not quoted: it might be a pasted private key
        raise UsageError(
            f"signing_public_key is not a base64 Ed25519 public key (32 bytes, 44 "
            f"characters); copy it from the ed25519.pub that `{KEYGEN}` wrote"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def public_text(key: Ed25519PublicKey) -> str:
    """Base64 of the raw public key, as config and Sparkle's ``SUPublicEDKey`` hold it."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign_bytes(key: Ed25519PrivateKey, data: bytes) -> str:
    """Base64 Ed25519 signature over ``data``."""
    return base64.b64encode(key.sign(data)).decode()


def signature_problem(key: Ed25519PublicKey, data: bytes, signature: str) -> str | None:
    """Why ``signature`` is not a valid signature of ``data`` by ``key``; None when it is."""
    if not signature:
        return "it is not signed"
    raw = _decode_b64(signature)
    if raw is None or len(raw) != 64:
        return "its signature is not base64 of 64 bytes"
    try:
        key.verify(raw, data)
    except InvalidSignature:
        return (
            "its signature does not verify against the public key: the file changed "
            "after it was signed, or another key signed it"
        )
    return None


def sign_artifact(
    artifact: Path,
    key_file: str | Path | None,
    public: str,
    environ: Mapping[str, str] | None = None,
) -> str:
    """Sign ``artifact`` and check the signature with the configured public key.

    Fails (nothing is written) when the key is missing, unsafe or not the pair of
    ``public``: a release users cannot verify must not be published.
    """
    check = load_public_key(public)
    key, source = private_key(key_file, environ)
    signature = sign_bytes(key, artifact.read_bytes())
    if signature_problem(check, artifact.read_bytes(), signature) is not None:
        where = "the environment variable" if source == ENV_KEY else "the key file"
        raise UsageError(
            f"the signing key ({where} {source}) is not the pair of signing_public_key: "
            f"its public key is {public_text(key.public_key())}, so users would reject "
            f"{artifact.name}. Sign with the private key of the configured public key, or "
            f"configure this one if the key pair was replaced on purpose"
        )
    return signature


def check_served(key: Ed25519PublicKey, release: Release, data: bytes, sig: bytes) -> None:
    """Fail unless the served artifact and its served ``.sig`` carry the feed's signature."""
    problem = signature_problem(key, data, release.ed_signature)
    if problem is None and sig.strip() != release.ed_signature.encode():
        problem = f"the served {sig_name(release.file)} is not the signature feed.json records"
    if problem is not None:
        raise ActionError(
            f"{release.version} is refused: {problem}. Check the signing key and "
            f"signing_public_key, then publish a new release (see the runbook's troubleshooting)"
        )


def release_problem(feed_dir: Path, release: Release, key: Ed25519PublicKey) -> str | None:
    """Why the feed folder's copy of ``release`` is not verified; None when it is."""
    artifact = feed_dir / release.file
    if not artifact.is_file():
        return f"its artifact {release.file} is missing from the feed folder"
    if not release.ed_signature:
        return "it is not signed (feed.json has no ed_signature)"
    sig = feed_dir / sig_name(release.file)
    if not sig.is_file():
        return f"its detached signature {sig.name} is missing"
    if sig.read_bytes().strip() != release.ed_signature.encode():
        return f"{sig.name} differs from the signature in feed.json"
    data = artifact.read_bytes()
    problem = signature_problem(key, data, release.ed_signature)
    if problem is not None:
        return f"{release.file}: {problem}"
    if hashlib.sha256(data).hexdigest() != release.sha256 or len(data) != release.size:
        return f"{release.file} does not match feed.json's sha256 and size"
    return None


def verified_only(feed: Feed, feed_dir: Path, key: Ed25519PublicKey) -> tuple[Feed, dict[str, str]]:
    """The feed with every unverified release withdrawn (in memory), and why each was."""
    refused: dict[str, str] = {}
    releases = []
    for release in feed.releases:
        problem = None if release.withdrawn else release_problem(feed_dir, release, key)
        if problem is not None:
            refused[release.version] = problem
            release = replace(release, withdrawn=True)
        releases.append(release)
    return replace(feed, releases=tuple(releases)), refused


#: The command-line arguments the subcommands share.
PublicKey = Annotated[str, Arg(help="base64 Ed25519 public key (signing_public_key)")]
KeyFile = Annotated[str, Arg(help=f"private key file, mode 0600 (else ${ENV_KEY})", metavar="FILE")]


def keygen(
    folder: Annotated[Path, Arg("dir", help="folder for ed25519.key and ed25519.pub")],
) -> str:
    """Write a new key pair (both files 0600) and print the public key for the config."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private, public = folder / KEY_FILE, folder / PUBLIC_FILE
    existing = [p.name for p in (private, public) if p.exists()]
    if existing:
        raise UsageError(
            f"{folder} already holds {', '.join(existing)}; keep that key pair or choose an "
            f"empty folder (replacing a key makes every published signature unverifiable)"
        )
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    text = public_text(key.public_key())
    for path, data in ((private, pem), (public, text.encode() + b"\n")):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
    return (
        f"wrote {private} (private, 0600) and {public}\n"
        f"public key: {text}\n"
        f'configure: signing_key_file = "{private}" and signing_public_key = "{text}"'
    )


def sign(
    file: Annotated[Path, Arg(help="the artifact to sign")],
    public_key: PublicKey,
    key_file: KeyFile = "",
) -> str:
    """Write ``<file>.sig``: the base64 Ed25519 signature, checked with the public key."""
    if not file.is_file():
        raise UsageError(f"{file} does not exist; pass --file the artifact")
    signature = sign_artifact(file, key_file, public_key)
    target = file.with_name(sig_name(file.name))
    target.write_bytes(sig_text(signature))
    return f"signed {file.name}: {target}"


def verify(
    file: Annotated[Path, Arg(help="the artifact")],
    public_key: PublicKey,
    signature: Annotated[str, Arg(help="base64 signature (default: read <file>.sig)")] = "",
) -> str:
    """Check ``file`` against its signature (``<file>.sig`` unless given) and the public key."""
    key = load_public_key(public_key)
    if not file.is_file():
        raise UsageError(f"{file} does not exist; pass --file the artifact")
    if not signature:
        sig = file.with_name(sig_name(file.name))
        if not sig.is_file():
            raise ActionError(f"{sig} is missing: {file.name} is not signed; sign it again")
        signature = sig.read_text(encoding="ascii", errors="replace").strip()
    problem = signature_problem(key, file.read_bytes(), signature)
    if problem is not None:
        raise ActionError(f"{file.name} is refused: {problem}")
    return f"{file.name}: the Ed25519 signature verifies against the public key"


def check_feed(
    feed_dir: Annotated[Path, Arg(help="the update feed folder")], public_key: PublicKey
) -> str:
    """Fail unless every release the feed still offers is signed and verifies."""
    from opsbooks_playbooks.actions import (
        feed,  # feed imports this module; import here, not at the top
    )

    key = load_public_key(public_key)
    current = feed.load(feed_dir)
    _, refused = verified_only(current, feed_dir, key)
    if refused:
        named = "; ".join(f"{version}: {why}" for version, why in refused.items())
        raise ActionError(
            f"releases offered unverified: {named}. Publish them again signed with the key "
            f"of signing_public_key, or withdraw them"
        )
    return f"every offered release of {feed_dir} is signed and verifies"


def last_good(
    repo: Annotated[Path, Arg(help="path of the working clone; its tags mark real releases")],
    feed_dir: Annotated[Path, Arg(help="the update feed folder")],
    public_key: PublicKey,
    before: Annotated[
        str, Arg(type=optional_version_arg, help="the bad release (default: newest)")
    ] = "",
    to: Annotated[
        str, Arg(type=optional_version_arg, help="check this target instead of choosing")
    ] = "",
) -> str:
    """Name the release to roll back to, among verified ones only: tagged, signed, intact.

    Prints the target and the bad release as ``::output`` lines, and names every
    candidate that was refused and why (unsigned, missing ``.sig``, bad signature).
    """
    from opsbooks_playbooks.actions import (
        feed,  # feed imports this module; import here, not at the top
    )
    from opsbooks_playbooks.actions.git import tag_versions

    key = load_public_key(public_key)
    current = feed.load(feed_dir)
    checked, refused = verified_only(current, feed_dir, key)
    if to in refused:
        raise ActionError(f"{to} cannot be the rollback target: {refused[to]}")
    try:
        bad, target = feed.rollback_target(checked, tag_versions(repo), before, to)
    except ActionError as exc:
        if not refused:
            raise
        named = "; ".join(f"{version}: {why}" for version, why in refused.items())
        raise ActionError(f"{exc} (refused as unverified: {named})") from None
    below = Version.parse(bad)
    verified = [r.version for r in checked.active() if r.semver < below]
    lines = [f"{target} (rolling back from {bad})", f"verified: {', '.join(verified)}"]
    lines += [
        f"refused: {version}: {why}"
        for version, why in refused.items()
        if Version.parse(version) < below
    ]
    return "\n".join([*lines, output_lines({"target": target, "bad": bad})])


PROGRAM = program("signing", __doc__)
for _command in (keygen, sign, verify, check_feed, last_good):
    PROGRAM.command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.signing``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
