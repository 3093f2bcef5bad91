"""The update feed: a folder with ``feed.json``, a Sparkle ``appcast.xml`` and the artifacts.

``feed.json`` is the source of truth (releases newest first, a ``latest`` pointer);
the appcast is rendered from it and lists only releases that are not withdrawn, since
Sparkle clients take the highest version they see. Writes go artifact first, then
appcast, then ``feed.json``, each atomically, so the feed never points at an artifact
that is not there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import http.server
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from opsbooks.actions import Arg
from opsbooks_playbooks.actions import (
    ActionError,
    Version,
    optional_version_arg,
    program,
    version_arg,
    write_atomic,
)
from opsbooks_playbooks.actions.artifacts import read_manifest, sha256_of, verify_manifest
from opsbooks_playbooks.actions.feed_format import (
    APPCAST,
    FEED_JSON,
    SPARKLE,
    AppcastItem,
    Feed,
    Release,
    check_feeds,
    from_json,
    parse_appcast,
    render_appcast,
    rollback_target,
    to_json,
    without,
)
from opsbooks_playbooks.actions.git import tag_versions
from opsbooks_playbooks.actions.signing import (
    SIG_SUFFIX,
    check_served,
    load_public_key,
    release_problem,
    sig_name,
    sig_text,
    sign_artifact,
)

__all__ = [
    "APPCAST",
    "FEED_JSON",
    "SPARKLE",
    "AppcastItem",
    "Feed",
    "Release",
    "check_artifact",
    "check_newer",
    "from_json",
    "load",
    "parse_appcast",
    "point_latest",
    "publish",
    "remove",
    "render_appcast",
    "rollback_target",
    "save",
    "serving",
    "to_json",
    "verify",
]


def load(feed_dir: Path) -> Feed:
    """Read ``feed_dir/feed.json``; a folder without one is an empty feed."""
    path = feed_dir / FEED_JSON
    if not path.is_file():
        return Feed(title="", latest=None, releases=())
    return from_json(path.read_bytes())


def save(feed_dir: Path, feed: Feed) -> None:
    """Write the appcast, then ``feed.json``, each atomically."""
    write_atomic(feed_dir / APPCAST, render_appcast(feed))
    write_atomic(feed_dir / FEED_JSON, to_json(feed))


def check_artifact(feed_dir: Path, release: Release) -> Path:
    """Fail unless the release's artifact is in the feed folder and matches its sha256."""
    stored = feed_dir / release.file
    if not stored.is_file() or sha256_of(stored) != release.sha256:
        raise ActionError(
            f"{stored} is missing or does not match the feed's sha256; restore it from the "
            f"build folder (check with sha256sum -c SHA256SUMS) first"
        )
    return stored


#: The command-line arguments the subcommands share.
FeedDir = Annotated[Path, Arg(help="the update feed folder")]
NewVersion = Annotated[str, Arg(type=version_arg)]
Bad = Annotated[str, Arg(type=optional_version_arg, help="default: newest")]
#: Given (even empty): signatures are required and checked with this key.
PublicKey = Annotated[
    str | None, Arg(help="base64 Ed25519 public key; given, every signature is required")
]


def check_newer(feed_dir: FeedDir, version: NewVersion) -> str:
    """Fail unless ``version`` is new to the feed and higher than its latest."""
    feed = load(feed_dir)
    if feed.find(version) is not None:
        raise ActionError(f"{version} is already in the feed; release a new version")
    if feed.latest and Version.parse(version) <= Version.parse(feed.latest):
        raise ActionError(f"{version} is not newer than the feed's latest {feed.latest}")
    return f"{version} is newer than the feed's latest ({feed.latest or 'none'})"


def _artifact(artifact: Path | None, manifest_dir: Path | None) -> Path:
    if artifact is not None:
        if not artifact.is_file():
            raise ActionError(f"{artifact} does not exist; build the release first")
        return artifact
    if manifest_dir is None:
        raise ActionError("pass --artifact FILE or --from-manifest DIR")
    verify_manifest(manifest_dir)
    names = sorted(read_manifest(manifest_dir))
    if len(names) != 1:
        raise ActionError(f"{manifest_dir} holds {len(names)} artifacts; pass --artifact FILE")
    return manifest_dir / names[0]


def publish(
    feed_dir: FeedDir,
    version: NewVersion,
    base_url: Annotated[str, Arg(help="public URL the feed folder is served at")],
    *,
    artifact: Annotated[Path | None, Arg(help="the file to publish", one_of="source")] = None,
    manifest_dir: Annotated[
        Path | None,
        Arg("--from-manifest", help="build folder with one artifact", one_of="source"),
    ] = None,
    notes: Annotated[str, Arg(help="release notes shown to users")] = "",
    date: Annotated[str, Arg(type=_date_arg, help="YYYY-MM-DD (default: today UTC)")] = "",
    title: Annotated[str, Arg(help="feed title (default: kept, or from the file)")] = "",
    public_key: PublicKey = None,
    key_file: Annotated[str, Arg(help="Ed25519 private key file, mode 0600", metavar="FILE")] = "",
) -> str:
    """Copy the artifact into the feed, add the release and make it latest; re-running is safe.

    With ``--public-key`` the artifact is signed (key from ``$OPSBOOKS_SECRET_SIGNING_KEY``
    or ``--key-file``) and the signature checked first: no key, an unsafe key file or a
    key that is not the public key's pair publishes nothing.
    """
    source = _artifact(artifact, manifest_dir)
    sha, size = sha256_of(source), source.stat().st_size
    signed = public_key is not None or bool(key_file)
    signature = sign_artifact(source, key_file, public_key or "") if signed else ""
    feed = load(feed_dir)
    existing = feed.find(version)
    if existing is not None:
        stored = feed_dir / existing.file
        if existing.withdrawn:
            raise ActionError(f"{version} was withdrawn from the feed; release a new version")
        same = existing.sha256 == sha and existing.ed_signature == signature
        if same and stored.is_file() and sha256_of(stored) == sha:
            _write_sig(feed_dir, existing)
            return f"{version} is already published (latest: {feed.latest})"
        raise ActionError(
            f"the feed already holds a different {version} (sha256 {existing.sha256[:12]}…); "
            f"remove it first with: python -m opsbooks_playbooks.actions.feed remove"
        )
    if feed.latest and Version.parse(version) <= Version.parse(feed.latest):
        raise ActionError(f"{version} is not newer than the feed's latest {feed.latest}")
    if any(r.file == source.name for r in feed.releases):
        raise ActionError(f"another release already uses the file name {source.name}")
    feed_dir.mkdir(parents=True, exist_ok=True)
    _copy_atomic(source, feed_dir / source.name)
    release = Release(
        version=version,
        date=date or dt.datetime.now(dt.UTC).date().isoformat(),
        url=base_url.rstrip("/") + "/" + source.name,
        file=source.name,
        size=size,
        sha256=sha,
        notes=notes,
        ed_signature=signature,
    )
    _write_sig(feed_dir, release)
    name = feed.title or source.name.split(f"-{version}")[0]
    save(feed_dir, Feed(title or name, version, (release, *feed.releases)))
    how = "signed (Ed25519), " if signature else ""
    return f"published {version} ({source.name}, {size} bytes, {how}as latest) at {release.url}"


def _write_sig(feed_dir: Path, release: Release) -> None:
    """Place the detached ``<artifact>.sig`` beside the artifact (before the feed names it)."""
    if release.ed_signature:  # public like the artifact it signs
        write_atomic(feed_dir / sig_name(release.file), sig_text(release.ed_signature))
        (feed_dir / sig_name(release.file)).chmod(0o644)


def _copy_atomic(source: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial")
    try:
        shutil.copyfile(source, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def remove(feed_dir: FeedDir, version: NewVersion) -> str:
    """Take ``version`` out of the feed and delete its artifact (undo of publish)."""
    feed = load(feed_dir)
    release = feed.find(version)
    if release is None:
        return f"{version} is not in the feed; nothing to remove"
    after = without(feed, version)
    save(feed_dir, after)
    if all(r.file != release.file for r in after.releases):
        (feed_dir / release.file).unlink(missing_ok=True)
        (feed_dir / sig_name(release.file)).unlink(missing_ok=True)
    return f"removed {version} from the feed; latest is {after.latest or 'none'}"


def point_latest(
    feed_dir: FeedDir,
    to: Annotated[str, Arg("--version", type=optional_version_arg, help="target (or auto)")] = "",
    bad: Bad = "",
    repo: Annotated[
        Path | None, Arg(help="only roll back to a tagged release of this clone")
    ] = None,
    public_key: PublicKey = None,
) -> str:
    """Point latest back to a good release and withdraw every release above it (rollback).

    With ``--public-key`` the target must be signed and verify, or nothing changes.
    """
    feed = load(feed_dir)
    tags = None if repo is None else tag_versions(repo)
    bad, target = rollback_target(feed, tags, bad, to)
    entry = feed.find(target)
    if entry is None:
        raise ActionError(f"{target} vanished from the feed while rolling back; run again")
    check_artifact(feed_dir, entry)
    if public_key is not None:
        problem = release_problem(feed_dir, entry, load_public_key(public_key))
        if problem is not None:
            raise ActionError(f"{target} is not offered again: {problem}")
    above = [r.version for r in feed.active() if r.semver > entry.semver]
    if feed.latest == target and not above:
        return f"latest is already {target}; {bad} is withdrawn"
    releases = tuple(replace(r, withdrawn=True) if r.version in above else r for r in feed.releases)
    save(feed_dir, replace(feed, latest=target, releases=releases))
    return f"latest is now {target}; withdrawn: {', '.join(above) or 'none'}"


def _open(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Cache-Control": "no-cache"})
    try:
        return urllib.request.urlopen(request, timeout=15)
    except urllib.error.HTTPError as exc:
        raise ActionError(f"GET {url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ActionError(f"cannot fetch {url}: {reason}") from None


def _get(url: str) -> bytes:
    with _open(url) as response:
        body: bytes = response.read()
        return body


def _download_digest(url: str) -> tuple[int, str]:
    """Stream ``url`` and return its size and sha256, without holding it in memory."""
    digest, size = hashlib.sha256(), 0
    with _open(url) as response:
        for chunk in iter(lambda: response.read(1 << 16), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def verify(
    feed_dir: FeedDir,
    version: Annotated[str, Arg(type=optional_version_arg, help="(or rollback target)")] = "",
    *,
    url: Annotated[str, Arg(help="where the feed is served (default: loopback)")] = "",
    base_url: Annotated[str, Arg(help="artifact URLs must start with this")] = "",
    bad: Annotated[str, Arg(type=optional_version_arg, help="with no --version")] = "",
    repo: Annotated[Path | None, Arg(help="with no --version: only tagged targets")] = None,
    public_key: PublicKey = None,
) -> str:
    """Fetch both feeds and the artifact over HTTP and check they offer ``version`` intact.

    With no ``url`` the folder is served on a loopback port for the check. With no
    ``version`` the rollback target is checked (chosen as ``point-latest`` chooses it).
    With ``public_key`` the artifact's Ed25519 signature (feed and ``.sig``) must verify.
    """
    key = None if public_key is None else load_public_key(public_key)
    source = nullcontext(url.rstrip("/") + "/") if url else serving(feed_dir)
    with source as root:
        feed = from_json(_get(root + FEED_JSON))
        items = parse_appcast(_get(root + APPCAST))
        if not version:
            tags = None if repo is None else tag_versions(repo)
            version = rollback_target(feed, tags, bad)[1]
        entry = check_feeds(feed, items, version, base_url)
        artifact_url = entry.url if url else root + entry.file
        size, digest = _download_digest(artifact_url)
        if key is not None:
            check_served(key, entry, _get(artifact_url), _get(artifact_url + SIG_SUFFIX))
    if size != entry.size:
        raise ActionError(f"{artifact_url} is {size} bytes; the feed says {entry.size}")
    if digest != entry.sha256:
        raise ActionError(
            f"{artifact_url} has sha256 {digest[:12]}…, the feed says {entry.sha256[:12]}…; "
            f"the artifact is corrupt: republish it"
        )
    signed = "; its Ed25519 signature verifies" if key is not None else ""
    return f"feed offers {version}: feed.json, appcast.xml and the artifact agree ({root}){signed}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep request logs out of the step's output."""


@contextmanager
def serving(feed_dir: Path, port: int = 0) -> Iterator[str]:
    """Serve ``feed_dir`` on 127.0.0.1 in a thread; yield its base URL, stop on exit."""
    if not feed_dir.is_dir():
        raise ActionError(f"{feed_dir} does not exist; pass --feed-dir the feed folder")
    handler = functools.partial(_QuietHandler, directory=str(feed_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve(feed_dir: FeedDir, port: Annotated[int, Arg(help="0 picks a free port")] = 8765) -> str:
    """Serve the feed folder on 127.0.0.1 until interrupted (Ctrl-C)."""
    with serving(feed_dir, port) as root:
        print(f"serving {feed_dir} at {root} (Ctrl-C to stop)", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
    return "stopped"


def _date_arg(text: str) -> str:
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-28") from None


PROGRAM = program("feed", __doc__)
for _command in (publish, remove, point_latest, check_newer, verify, serve):
    PROGRAM.command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.feed``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
