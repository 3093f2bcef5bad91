"""The update feed: publish, remove, point-latest and verify over a real loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from opsbooks_playbooks.actions import ActionError, feed
from opsbooks_playbooks.actions import git as actions_git

Run = Callable[..., subprocess.CompletedProcess[str]]
Serve = Callable[[Path], AbstractContextManager[str]]
BASE = "http://127.0.0.1:9/demo/"  # public URL stand-in: loopback, nothing listening


def make_artifact(folder: Path, version: str, body: bytes | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"demo-{version}.tar.gz"
    path.write_bytes(body if body is not None else f"artifact {version}\n".encode() * 50)
    return path


@pytest.fixture
def feed_dir(tmp_path: Path) -> Path:
    return tmp_path / "feed"


def publish(feed_dir: Path, tmp_path: Path, version: str, date: str = "2026-11-01") -> str:
    artifact = make_artifact(tmp_path / "dist" / version, version)
    return feed.publish(feed_dir, version, BASE, artifact=artifact, notes=f"v{version}", date=date)


@pytest.mark.slow
def test_publish_writes_both_feeds_and_the_artifact(
    feed_dir: Path, tmp_path: Path, action: Run
) -> None:
    artifact = make_artifact(tmp_path / "dist", "1.0.0")
    done = action(
        "feed", "publish", "--feed-dir", feed_dir, "--version", "1.0.0", "--artifact", artifact,
        "--base-url", BASE, "--notes", "First <release> & more", "--date", "2026-11-28",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads((feed_dir / "feed.json").read_text())
    assert data["latest"] == "1.0.0"
    assert data["title"] == "demo"
    (entry,) = data["releases"]
    assert entry == {
        "version": "1.0.0",
        "date": "2026-11-28",
        "url": BASE + "demo-1.0.0.tar.gz",
        "file": "demo-1.0.0.tar.gz",
        "size": artifact.stat().st_size,
        "sha256": feed.sha256_of(artifact),
        "notes": "First <release> & more",
        "withdrawn": False,
    }
    assert (feed_dir / "demo-1.0.0.tar.gz").read_bytes() == artifact.read_bytes()
    root = ET.fromstring((feed_dir / "appcast.xml").read_bytes())
    assert root.tag == "rss" and root.get("version") == "2.0"
    item = root.find("channel/item")
    assert item is not None
    assert item.findtext("title") == "Version 1.0.0"
    assert item.findtext("pubDate") == "Sat, 28 Nov 2026 00:00:00 +0000"
    assert item.findtext("description") == "First <release> & more"
    assert item.findtext(f"{{{feed.SPARKLE}}}version") == "1.0.0"
    enclosure = item.find("enclosure")
    assert enclosure is not None
    assert enclosure.get("url") == BASE + "demo-1.0.0.tar.gz"
    assert enclosure.get("length") == str(artifact.stat().st_size)
    assert enclosure.get(f"{{{feed.SPARKLE}}}sha256") == feed.sha256_of(artifact)
    assert not list(feed_dir.glob(".*"))  # no temp files left behind


def test_publish_is_idempotent_and_keeps_order(feed_dir: Path, tmp_path: Path) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    publish(feed_dir, tmp_path, "1.1.0")
    before = (feed_dir / "feed.json").read_bytes()
    assert "already published" in publish(feed_dir, tmp_path, "1.1.0")
    assert (feed_dir / "feed.json").read_bytes() == before
    loaded = feed.load(feed_dir)
    assert [r.version for r in loaded.releases] == ["1.1.0", "1.0.0"]
    assert loaded.latest == "1.1.0"
    items = feed.parse_appcast((feed_dir / "appcast.xml").read_bytes())
    assert [i.version for i in items] == ["1.1.0", "1.0.0"]


def test_publish_refuses_a_different_artifact_for_a_published_version(
    feed_dir: Path, tmp_path: Path
) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    other = make_artifact(tmp_path / "other", "1.0.0", b"different bytes")
    with pytest.raises(ActionError, match=r"already holds a different 1\.0\.0"):
        feed.publish(feed_dir, "1.0.0", BASE, artifact=other)


@pytest.mark.slow
def test_publish_refuses_a_version_not_newer_than_latest(
    feed_dir: Path, tmp_path: Path, action: Run
) -> None:
    publish(feed_dir, tmp_path, "1.1.0")
    artifact = make_artifact(tmp_path / "dist", "1.0.5")
    done = action(
        "feed", "publish", "--feed-dir", feed_dir, "--version", "1.0.5",
        "--artifact", artifact, "--base-url", BASE,
    )  # fmt: skip
    assert done.returncode == 1
    assert "not newer than the feed's latest 1.1.0" in done.stderr
    refused = action("feed", "check-newer", "--feed-dir", feed_dir, "--version", "1.0.5")
    assert refused.returncode == 1
    assert (
        action("feed", "check-newer", "--feed-dir", feed_dir, "--version", "1.2.0").returncode == 0
    )


def test_publish_from_a_build_folder_checks_its_manifest(feed_dir: Path, tmp_path: Path) -> None:
    build = tmp_path / "dist" / "1.0.0"
    artifact = make_artifact(build, "1.0.0")
    (build / "SHA256SUMS").write_text(f"{'0' * 64}  {artifact.name}\n")
    with pytest.raises(ActionError, match="has sha256"):
        feed.publish(feed_dir, "1.0.0", BASE, manifest_dir=build)
    (build / "SHA256SUMS").write_text(f"{feed.sha256_of(artifact)}  {artifact.name}\n")
    assert "published 1.0.0" in feed.publish(feed_dir, "1.0.0", BASE, manifest_dir=build)


@pytest.mark.slow
def test_remove_undoes_publish(feed_dir: Path, tmp_path: Path, action: Run) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    publish(feed_dir, tmp_path, "1.1.0")
    done = action("feed", "remove", "--feed-dir", feed_dir, "--version", "1.1.0")
    assert done.returncode == 0, done.stderr
    loaded = feed.load(feed_dir)
    assert loaded.latest == "1.0.0"
    assert [r.version for r in loaded.releases] == ["1.0.0"]
    assert not (feed_dir / "demo-1.1.0.tar.gz").exists()
    assert [i.version for i in feed.parse_appcast((feed_dir / "appcast.xml").read_bytes())] == [
        "1.0.0"
    ]
    again = action("feed", "remove", "--feed-dir", feed_dir, "--version", "1.1.0")
    assert again.returncode == 0
    assert "nothing to remove" in again.stdout


@pytest.mark.slow
def test_point_latest_withdraws_everything_above_the_target(
    feed_dir: Path, tmp_path: Path, action: Run
) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(feed_dir, tmp_path, version)
    done = action("feed", "point-latest", "--feed-dir", feed_dir, "--version", "1.0.0")
    assert done.returncode == 0, done.stderr
    assert "withdrawn: 1.2.0, 1.1.0" in done.stdout
    loaded = feed.load(feed_dir)
    assert loaded.latest == "1.0.0"
    assert {r.version: r.withdrawn for r in loaded.releases} == {
        "1.2.0": True,
        "1.1.0": True,
        "1.0.0": False,
    }
    items = feed.parse_appcast((feed_dir / "appcast.xml").read_bytes())
    assert [i.version for i in items] == ["1.0.0"]
    assert (feed_dir / "demo-1.2.0.tar.gz").exists()  # kept for the investigation
    again = action("feed", "point-latest", "--feed-dir", feed_dir, "--version", "1.0.0")
    assert again.returncode == 0
    assert "already 1.0.0" in again.stdout
    with pytest.raises(ActionError, match="withdrawn from the feed"):
        publish(feed_dir, tmp_path, "1.2.0")


@pytest.mark.slow
def test_point_latest_chooses_the_last_good_tagged_release(
    feed_dir: Path, tmp_path: Path, repo: Path
) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        publish(feed_dir, tmp_path, version)
    actions_git.create_tag(repo, "1.0.0", "r")
    actions_git.create_tag(repo, "1.2.0", "r")  # 1.1.0 has no tag: not a real release
    assert actions_git.last_good(repo, feed_dir).startswith("1.0.0 (rolling back from 1.2.0)")
    assert "latest is now 1.0.0" in feed.point_latest(feed_dir, repo=repo)
    # repeated with no versions, it picks the same target and changes nothing
    assert "already 1.0.0" in feed.point_latest(feed_dir, repo=repo)
    assert feed.point_latest(feed_dir) == "latest is already 1.0.0; 1.2.0 is withdrawn"


@pytest.mark.slow
def test_rollback_target_errors(feed_dir: Path, tmp_path: Path, action: Run, repo: Path) -> None:
    with pytest.raises(ActionError, match="nothing to roll back"):
        feed.point_latest(feed_dir)
    publish(feed_dir, tmp_path, "1.0.0")
    publish(feed_dir, tmp_path, "1.1.0")
    done = action("feed", "point-latest", "--feed-dir", feed_dir, "--version", "0.9.0")
    assert done.returncode == 1
    assert "0.9.0 cannot be the rollback target" in done.stderr
    assert "candidates: 1.0.0" in done.stderr
    done = action("git", "last-good", "--repo", repo, "--feed-dir", feed_dir)
    assert done.returncode == 1
    assert "no good release older than 1.1.0" in done.stderr
    with pytest.raises(ActionError, match=r"2\.0\.0 is not in the feed"):
        feed.point_latest(feed_dir, bad="2.0.0")


def test_point_latest_refuses_a_target_whose_artifact_is_gone(
    feed_dir: Path, tmp_path: Path
) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    publish(feed_dir, tmp_path, "1.1.0")
    (feed_dir / "demo-1.0.0.tar.gz").unlink()
    with pytest.raises(ActionError, match="missing or does not match"):
        feed.point_latest(feed_dir, "1.0.0")
    assert feed.load(feed_dir).latest == "1.1.0"


@pytest.mark.slow
def test_verify_over_http(feed_dir: Path, tmp_path: Path, action: Run, http_server: Serve) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    with http_server(feed_dir) as url:
        done = action("feed", "verify", "--feed-dir", feed_dir, "--version", "1.0.0", "--url", url)
    # with --url the artifact comes from the feed's own URL, which is not served here
    assert done.returncode == 1
    assert "cannot fetch http://127.0.0.1:9/demo/demo-1.0.0.tar.gz" in done.stderr

    with http_server(feed_dir) as url:
        _rebase(feed_dir, url)
        done = action(
            "feed", "verify", "--feed-dir", feed_dir, "--version", "1.0.0",
            "--url", url, "--base-url", url,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "feed offers 1.0.0" in done.stdout


def _rebase(feed_dir: Path, url: str) -> None:
    """Point every entry's URL at ``url``, as if the feed were published there."""
    loaded = feed.load(feed_dir)
    releases = tuple(feed.Release(**{**r.__dict__, "url": url + r.file}) for r in loaded.releases)
    feed.save(feed_dir, feed.Feed(loaded.title, loaded.latest, releases))


@pytest.mark.slow
def test_verify_serves_the_folder_itself_when_no_url(
    feed_dir: Path, tmp_path: Path, action: Run
) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    done = action(
        "feed", "verify", "--feed-dir", feed_dir, "--version", "1.0.0", "--base-url", BASE
    )
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:" in done.stdout
    wrong_base = action(
        "feed", "verify", "--feed-dir", feed_dir, "--version", "1.0.0",
        "--base-url", "https://elsewhere.invalid/",
    )  # fmt: skip
    assert wrong_base.returncode == 1
    assert "is not under https://elsewhere.invalid/" in wrong_base.stderr


@pytest.mark.slow
def test_verify_catches_a_corrupted_artifact(
    feed_dir: Path, tmp_path: Path, action: Run, http_server: Serve
) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    stored = feed_dir / "demo-1.0.0.tar.gz"
    body = bytearray(stored.read_bytes())
    body[10] ^= 0xFF
    stored.write_bytes(bytes(body))
    with http_server(feed_dir) as url:
        _rebase(feed_dir, url)
        done = action("feed", "verify", "--feed-dir", feed_dir, "--version", "1.0.0", "--url", url)
    assert done.returncode == 1
    assert "demo-1.0.0.tar.gz has sha256" in done.stderr
    assert "the artifact is corrupt" in done.stderr
    stored.write_bytes(bytes(body[:-5]))
    with pytest.raises(ActionError, match="bytes; the feed says"):
        feed.verify(feed_dir, "1.0.0")


@pytest.mark.slow
def test_verify_catches_a_feed_with_the_wrong_latest(
    feed_dir: Path, tmp_path: Path, action: Run
) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    publish(feed_dir, tmp_path, "1.1.0")
    done = action("feed", "verify", "--feed-dir", feed_dir, "--version", "1.0.0")
    assert done.returncode == 1
    assert "feed.json says latest is 1.1.0, expected 1.0.0" in done.stderr
    # feed.json edited by hand to point back, but the appcast still offers 1.1.0
    data = json.loads((feed_dir / "feed.json").read_text())
    data["latest"] = "1.0.0"
    data["releases"][0]["withdrawn"] = True
    (feed_dir / "feed.json").write_text(json.dumps(data))
    with pytest.raises(ActionError, match=r"appcast.xml offers 1\.1\.0 to Sparkle clients"):
        feed.verify(feed_dir, "1.0.0")


@pytest.mark.slow
def test_verify_reads_sha256_as_an_element_too(feed_dir: Path, tmp_path: Path) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    text = (feed_dir / "appcast.xml").read_text()
    sha = feed.load(feed_dir).releases[0].sha256
    text = text.replace(f' sparkle:sha256="{sha}"', "").replace(
        "</item>", f"<sparkle:sha256>{sha}</sparkle:sha256></item>"
    )
    (feed_dir / "appcast.xml").write_text(text)
    assert "feed offers 1.0.0" in feed.verify(feed_dir, "1.0.0")


@pytest.mark.slow
def test_verify_after_rollback_checks_the_chosen_target(feed_dir: Path, tmp_path: Path) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    publish(feed_dir, tmp_path, "1.1.0")
    with pytest.raises(ActionError, match=r"latest is 1\.1\.0, expected 1\.0\.0"):
        feed.verify(feed_dir)
    feed.point_latest(feed_dir)
    assert "feed offers 1.0.0" in feed.verify(feed_dir)
    assert "feed offers 1.0.0" in feed.verify(feed_dir, bad="1.1.0")


@pytest.mark.slow
def test_malformed_feed_is_a_clear_failure(feed_dir: Path, action: Run) -> None:
    feed_dir.mkdir()
    (feed_dir / "feed.json").write_text('{"latest": "1.0.0"}')
    done = action("feed", "check-newer", "--feed-dir", feed_dir, "--version", "1.0.1")
    assert done.returncode == 1
    assert "feed.json is malformed" in done.stderr


@pytest.mark.slow
def test_serve_command_serves_the_folder_until_stopped(feed_dir: Path, tmp_path: Path) -> None:
    publish(feed_dir, tmp_path, "1.0.0")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsbooks_playbooks.actions.feed", "serve"]  # noqa: RUF005
        + ["--feed-dir", str(feed_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "feed.json", timeout=10) as response:
            assert json.loads(response.read())["latest"] == "1.0.0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_versions_order_by_semver_precedence() -> None:
    from opsbooks_playbooks.actions import Version

    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.9.0", "1.10.0"]
    parsed = [Version.parse(v) for v in chain]
    assert sorted(reversed(parsed)) == parsed
    assert Version.parse("1.0.0+build.7") == Version.parse("1.0.0")
    with pytest.raises(ValueError, match="not a semantic version"):
        Version.parse("1.0")


def test_a_release_candidate_then_the_release(feed_dir: Path, tmp_path: Path) -> None:
    publish(feed_dir, tmp_path, "2.0.0-rc.1")
    assert "newer" in feed.check_newer(feed_dir, "2.0.0")
    with pytest.raises(ActionError, match="not newer"):
        feed.check_newer(feed_dir, "2.0.0-beta")
