"""The update feed's documents: ``feed.json`` (the source of truth) and the Sparkle appcast.

Pure functions over bytes and values, no I/O, so the local folder (``feed``) and
the remote mirror (``feed_remote``) read, write and check feeds the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from email.utils import format_datetime
from typing import Any

from opsbooks_playbooks.actions import ActionError, Version, plain_name

FEED_JSON = "feed.json"
APPCAST = "appcast.xml"
SPARKLE = "http://www.andymatuschak.org/xml-namespaces/sparkle"


@dataclass(frozen=True)
class Release:
    """One published release as ``feed.json`` records it."""

    version: str
    date: str
    url: str
    file: str
    size: int
    sha256: str
    notes: str = ""
    withdrawn: bool = False
    ed_signature: str = ""  # base64 Ed25519 signature of the artifact (empty: unsigned)

    @property
    def semver(self) -> Version:
        return Version.parse(self.version)


@dataclass(frozen=True)
class Feed:
    """The whole feed: title, the release users are offered, and every release."""

    title: str
    latest: str | None
    releases: tuple[Release, ...]

    def find(self, version: str) -> Release | None:
        return next((r for r in self.releases if r.version == version), None)

    def active(self) -> list[Release]:
        """Releases still offered, highest version first."""
        return sorted((r for r in self.releases if not r.withdrawn), key=_by_version, reverse=True)


def _by_version(release: Release) -> Version:
    return release.semver


def from_json(data: bytes | str) -> Feed:
    """Read a ``feed.json`` document; a malformed one is an ActionError."""
    try:
        raw: dict[str, Any] = json.loads(data)
        releases = tuple(Release(**item) for item in raw["releases"])
        for release in releases:
            Version.parse(release.version)
            _artifact_name(release.file)
        return Feed(title=str(raw.get("title", "")), latest=raw.get("latest"), releases=releases)
    except (ValueError, KeyError, TypeError) as exc:
        raise ActionError(
            f"{FEED_JSON} is malformed ({exc}); restore it from the last good copy"
        ) from None


def _artifact_name(name: object) -> None:
    """An artifact's file name from feed.json: one file in the feed folder, not its index."""
    if not isinstance(name, str):
        raise TypeError(f"file {name!r} is not a string")
    plain_name(name, f"{FEED_JSON} names the artifact")
    if name in (FEED_JSON, APPCAST):
        raise ActionError(f"{FEED_JSON} names its own index {name!r} as an artifact; fix it")


def _release_json(release: Release) -> dict[str, Any]:
    """A release's feed.json entry; an unsigned one has no ``ed_signature`` key."""
    entry = asdict(release)
    if not release.ed_signature:
        del entry["ed_signature"]
    return entry


def to_json(feed: Feed) -> bytes:
    body = {
        "title": feed.title,
        "latest": feed.latest,
        "releases": [_release_json(r) for r in feed.releases],
    }
    return (json.dumps(body, indent=2) + "\n").encode()


def render_appcast(feed: Feed) -> bytes:
    """Render the RSS 2.0 appcast with Sparkle elements for every release still offered."""
    rss = ET.Element("rss", {"version": "2.0", "xmlns:sparkle": SPARKLE})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = feed.title
    ET.SubElement(channel, "description").text = f"Updates of {feed.title}"
    ET.SubElement(channel, "language").text = "en"
    for release in feed.releases:
        if release.withdrawn:
            continue
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = f"Version {release.version}"
        day = dt.date.fromisoformat(release.date)
        moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        ET.SubElement(item, "pubDate").text = format_datetime(moment)
        ET.SubElement(item, "sparkle:version").text = release.version
        ET.SubElement(item, "sparkle:shortVersionString").text = release.version
        ET.SubElement(item, "description").text = release.notes
        enclosure = {
            "url": release.url,
            "length": str(release.size),
            "type": "application/octet-stream",
            "sparkle:version": release.version,
            "sparkle:sha256": release.sha256,
        }
        if release.ed_signature:
            enclosure["sparkle:edSignature"] = release.ed_signature
        ET.SubElement(item, "enclosure", enclosure)
    ET.indent(rss)
    document: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


@dataclass(frozen=True)
class AppcastItem:
    """What a Sparkle client reads from one appcast item."""

    version: str
    url: str
    length: int
    sha256: str
    ed_signature: str = ""


def parse_appcast(data: bytes) -> list[AppcastItem]:
    """Read the items of an appcast; sha256 may be an enclosure attribute or an element."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ActionError(f"{APPCAST} is not well-formed XML ({exc})") from None
    items = []
    for item in root.iter("item"):
        enclosure = item.find("enclosure")
        if enclosure is None:
            raise ActionError(f"an item of {APPCAST} has no <enclosure>")
        version = enclosure.get(f"{{{SPARKLE}}}version") or item.findtext(f"{{{SPARKLE}}}version")
        sha = enclosure.get(f"{{{SPARKLE}}}sha256") or item.findtext(f"{{{SPARKLE}}}sha256")
        if not version or not sha:
            raise ActionError(f"an item of {APPCAST} lacks sparkle:version or sha256")
        signature = enclosure.get(f"{{{SPARKLE}}}edSignature", "")
        length = int(enclosure.get("length", -1))
        items.append(AppcastItem(version, enclosure.get("url", ""), length, sha, signature))
    return items


def rollback_target(
    feed: Feed, tags: Sequence[Version] | None, bad: str = "", to: str = ""
) -> tuple[str, str]:
    """Return (bad, target): the release to take back and the one to offer instead.

    ``bad`` defaults to the most recently published release; ``to`` to the highest
    release below it that is still offered and (when ``tags`` is given) tagged. The
    answer depends only on the feed and the tags, so every step computes the same one.
    """
    if not feed.releases:
        raise ActionError("the feed has no releases; there is nothing to roll back")
    bad = bad or feed.releases[0].version
    if feed.find(bad) is None:
        raise ActionError(f"{bad} is not in the feed; pass --bad a version the feed lists")
    tagged = None if tags is None else set(tags)
    below = [
        r
        for r in feed.active()
        if r.semver < Version.parse(bad) and (tagged is None or r.semver in tagged)
    ]
    choices = ", ".join(r.version for r in below) or "none"
    if not to:
        if not below:
            raise ActionError(f"no good release older than {bad} in the feed to roll back to")
        return bad, below[0].version
    if to not in {r.version for r in below}:
        raise ActionError(
            f"{to} cannot be the rollback target: it must be in the feed, not withdrawn, "
            f"tagged and older than {bad}; candidates: {choices}"
        )
    return bad, to


def without(feed: Feed, version: str) -> Feed:
    """The feed with ``version`` taken out; latest falls back to the highest still offered."""
    rest = tuple(r for r in feed.releases if r.version != version)
    latest = feed.latest
    if latest == version:
        offered = [r for r in rest if not r.withdrawn]
        latest = max(offered, key=_by_version).version if offered else None
    return replace(feed, latest=latest, releases=rest)


def check_feeds(feed: Feed, items: list[AppcastItem], version: str, base_url: str) -> Release:
    if feed.latest != version:
        raise ActionError(f"{FEED_JSON} says latest is {feed.latest}, expected {version}")
    entry = feed.find(version)
    if entry is None or entry.withdrawn:
        raise ActionError(f"{FEED_JSON} does not offer {version}")
    above = [r.version for r in feed.active() if r.semver > entry.semver]
    if above:
        raise ActionError(f"{FEED_JSON} still offers newer {', '.join(above)}; withdraw them")
    if base_url and not entry.url.startswith(base_url.rstrip("/") + "/"):
        raise ActionError(f"{version}'s url {entry.url} is not under {base_url}")
    item = next((i for i in items if i.version == version), None)
    if item is None:
        raise ActionError(f"{APPCAST} has no item for {version}")
    enclosure = (item.url, item.length, item.sha256, item.ed_signature)
    if enclosure != (entry.url, entry.size, entry.sha256, entry.ed_signature):
        raise ActionError(f"{APPCAST} and {FEED_JSON} disagree about {version}'s enclosure")
    highest = max((Version.parse(i.version) for i in items), default=None)
    if highest != entry.semver:
        raise ActionError(f"{APPCAST} offers {highest} to Sparkle clients, not {version}")
    return entry
