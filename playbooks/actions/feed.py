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
from typing import Any

from playbooks.actions import (
    ActionError,
    Version,
    command_line,
    execute,
    optional_version_arg,
    version_arg,
    write_atomic,
)
from playbooks.actions.artifacts import read_manifest, sha256_of, verify_manifest
from playbooks.actions.feed_format import (
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
from playbooks.actions.git import tag_versions

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


def check_newer(feed_dir: Path, version: str) -> str:
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
    feed_dir: Path,
    version: str,
    base_url: str,
    *,
    artifact: Path | None = None,
    manifest_dir: Path | None = None,
    notes: str = "",
    date: str = "",
    title: str = "",
) -> str:
    """Copy the artifact into the feed, add the release and make it latest; re-running is safe."""
    source = _artifact(artifact, manifest_dir)
    sha, size = sha256_of(source), source.stat().st_size
    feed = load(feed_dir)
    existing = feed.find(version)
    if existing is not None:
        stored = feed_dir / existing.file
        if existing.withdrawn:
            raise ActionError(f"{version} was withdrawn from the feed; release a new version")
        if existing.sha256 == sha and stored.is_file() and sha256_of(stored) == sha:
            return f"{version} is already published (latest: {feed.latest})"
        raise ActionError(
            f"the feed already holds a different {version} (sha256 {existing.sha256[:12]}…); "
            f"remove it first with: python -m playbooks.actions.feed remove"
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
    )
    name = feed.title or source.name.split(f"-{version}")[0]
    save(feed_dir, Feed(title or name, version, (release, *feed.releases)))
    return f"published {version} ({source.name}, {size} bytes) as latest at {release.url}"


def _copy_atomic(source: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial")
    try:
        shutil.copyfile(source, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def remove(feed_dir: Path, version: str) -> str:
    """Take ``version`` out of the feed and delete its artifact (undo of publish)."""
    feed = load(feed_dir)
    release = feed.find(version)
    if release is None:
        return f"{version} is not in the feed; nothing to remove"
    after = without(feed, version)
    save(feed_dir, after)
    if all(r.file != release.file for r in after.releases):
        (feed_dir / release.file).unlink(missing_ok=True)
    return f"removed {version} from the feed; latest is {after.latest or 'none'}"


def point_latest(feed_dir: Path, to: str = "", bad: str = "", repo: Path | None = None) -> str:
    """Point latest back to a good release and withdraw every release above it (rollback)."""
    feed = load(feed_dir)
    tags = None if repo is None else tag_versions(repo)
    bad, target = rollback_target(feed, tags, bad, to)
    entry = feed.find(target)
    if entry is None:
        raise ActionError(f"{target} vanished from the feed while rolling back; run again")
    check_artifact(feed_dir, entry)
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
    feed_dir: Path,
    version: str = "",
    *,
    url: str = "",
    base_url: str = "",
    bad: str = "",
    repo: Path | None = None,
) -> str:
    """Fetch both feeds and the artifact over HTTP and check they offer ``version`` intact.

    With no ``url`` the folder is served on a loopback port for the check. With no
    ``version`` the rollback target is checked (chosen as ``point-latest`` chooses it).
    """
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
    if size != entry.size:
        raise ActionError(f"{artifact_url} is {size} bytes; the feed says {entry.size}")
    if digest != entry.sha256:
        raise ActionError(
            f"{artifact_url} has sha256 {digest[:12]}…, the feed says {entry.sha256[:12]}…; "
            f"the artifact is corrupt: republish it"
        )
    return f"feed offers {version}: feed.json, appcast.xml and the artifact agree ({root})"


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


def serve(feed_dir: Path, port: int) -> str:
    """Serve the feed folder on 127.0.0.1 until interrupted (Ctrl-C)."""
    with serving(feed_dir, port) as root:
        print(f"serving {feed_dir} at {root} (Ctrl-C to stop)", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
    return "stopped"


def _parser() -> argparse.ArgumentParser:
    parser, sub = command_line("feed", __doc__)

    def feed_dir(p: argparse.ArgumentParser) -> None:
        p.add_argument("--feed-dir", type=Path, required=True, help="the update feed folder")

    p = sub.add(
        "publish",
        lambda a: publish(
            a.feed_dir,
            a.version,
            a.base_url,
            artifact=a.artifact,
            manifest_dir=a.from_manifest,
            notes=a.notes,
            date=a.date,
            title=a.title,
        ),
        publish.__doc__,
    )
    feed_dir(p)
    p.add_argument("--version", type=version_arg, required=True)
    p.add_argument("--base-url", required=True, help="public URL the feed folder is served at")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--artifact", type=Path, help="the file to publish")
    source.add_argument("--from-manifest", type=Path, help="build folder with one artifact")
    p.add_argument("--notes", default="", help="release notes shown to users")
    p.add_argument("--date", type=_date_arg, default="", help="YYYY-MM-DD (default: today UTC)")
    p.add_argument("--title", default="", help="feed title (default: kept, or from the file)")
    p = sub.add("remove", lambda a: remove(a.feed_dir, a.version), remove.__doc__)
    feed_dir(p)
    p.add_argument("--version", type=version_arg, required=True)
    p = sub.add(
        "point-latest",
        lambda a: point_latest(a.feed_dir, a.version, a.bad, a.repo),
        point_latest.__doc__,
    )
    feed_dir(p)
    p.add_argument("--version", type=optional_version_arg, default="", help="target (or auto)")
    p.add_argument("--bad", type=optional_version_arg, default="", help="default: newest")
    p.add_argument("--repo", type=Path, help="only roll back to a tagged release of this clone")
    p = sub.add("check-newer", lambda a: check_newer(a.feed_dir, a.version), check_newer.__doc__)
    feed_dir(p)
    p.add_argument("--version", type=version_arg, required=True)
    p = sub.add(
        "verify",
        lambda a: verify(
            a.feed_dir, a.version, url=a.url, base_url=a.base_url, bad=a.bad, repo=a.repo
        ),
        verify.__doc__,
    )
    feed_dir(p)
    p.add_argument("--version", type=optional_version_arg, default="", help="(or rollback target)")
    p.add_argument("--url", default="", help="where the feed is served (default: loopback)")
    p.add_argument("--base-url", default="", help="artifact URLs must start with this")
    p.add_argument("--bad", type=optional_version_arg, default="", help="with no --version")
    p.add_argument("--repo", type=Path, help="with no --version: only tagged targets")
    p = sub.add("serve", lambda a: serve(a.feed_dir, a.port), serve.__doc__)
    feed_dir(p)
    p.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    return parser


def _date_arg(text: str) -> str:
    if not text:
        return ""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-28") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m playbooks.actions.feed``."""
    return execute(_parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
