"""Syncing files to host folders: names, plans and order with fakes; the real thing over sshd."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.backends.rollout import HostResult
from opsbooks.backends.sync import (
    TMP_PREFIX,
    FolderError,
    Listing,
    SyncFile,
    check_name,
    collect,
    parse_listing,
    plan_changes,
    remote_folders,
    sync_files,
)
from opsbooks.errors import BadInput, SyncError
from opsbooks.testing.fakes import FakeHosts, HostCall
from opsbooks.testing.sshd import SshdCluster


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    for name, text in {"a.css": "body{}", "b.js": "go()", "index.html": "<a href=b.js>"}.items():
        (folder / name).write_text(text)
    return folder


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a/b", "/etc/passwd", "..\\x", "a\nb", "tab\there", " x", "x "]
)
def test_names_that_could_leave_their_folder_are_refused(name: str) -> None:
    with pytest.raises(SyncError, match="not a plain file name"):
        check_name(name)


def test_plain_names_pass_including_dotfiles_dashes_and_spaces() -> None:
    for name in ("index.html", ".htaccess", "-n", "release notes.txt", "ünï.txt"):
        assert check_name(name) == name
    with pytest.raises(SyncError):
        check_name(TMP_PREFIX + "index.html")  # the sync's own temporary names


def test_collect_refuses_symlinks_and_subfolders(site: Path, tmp_path: Path) -> None:
    assert [f.name for f in collect(site)] == ["a.css", "b.js", "index.html"]
    assert collect(site)[0].sha256 == sha(b"body{}")
    (site / "secret").symlink_to("/etc/hostname")
    with pytest.raises(SyncError, match="symlink"):
        collect(site)
    (site / "secret").unlink()
    (site / "sub").mkdir()
    with pytest.raises(SyncError, match="subfolders"):
        collect(site)
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.css").write_text("x")
    with pytest.raises(SyncError, match=r"'a\.css'"):
        collect([site / "a.css", other / "a.css"])
    assert isinstance(SyncError("x"), BadInput)


def test_a_file_with_a_known_digest_is_not_read_until_needed(tmp_path: Path) -> None:
    (entry,) = collect([SyncFile("big.tgz", tmp_path / "not-here.tgz", "ab" * 32)])
    assert entry.sha256 == "ab" * 32


def files(**contents: str) -> tuple[SyncFile, ...]:
    return tuple(SyncFile(n, Path(n), sha(t.encode())) for n, t in contents.items())


def test_plan_uploads_what_differs_the_last_files_last_and_prunes_extras() -> None:
    wanted = files(**{"a": "1", "b": "2", "feed.json": "3", "appcast.xml": "4"})
    listing = Listing(
        files=frozenset({"a", "b", "old", TMP_PREFIX + "a"}),
        links=frozenset({"link"}),
        sha256={"a": sha(b"1"), "b": "0" * 64},
    )
    changes = plan_changes(wanted, listing, last=["appcast.xml", "feed.json"])
    assert [f.name for f in changes.first] == ["b"]
    assert [f.name for f in changes.last] == ["appcast.xml", "feed.json"]
    assert changes.delete == ("link", "old", TMP_PREFIX + "a")
    keep = plan_changes(wanted, listing, prune=False)
    assert keep.delete == (TMP_PREFIX + "a",)  # a sync's own leftovers always go
    some = plan_changes(wanted, listing, prune=lambda name: name == "old")
    assert some.delete == ("old", TMP_PREFIX + "a")


def test_a_listing_cannot_be_forged_by_file_names() -> None:
    forged = f"{'1' * 64}  feed.json"
    output = f"{'2' * 64}  a\n--\nF a\nF feed.json\n{forged}\nF ../../etc\nO sub\nL l\n"
    listing = parse_listing(output)
    assert listing.sha256 == {"a": "2" * 64}  # hashes count only before the marker
    plan = plan_changes(files(a="x"), listing)
    assert plan.delete == ("feed.json", "l")  # '../../etc' is never a name to delete
    assert parse_listing("M\n").exists is False


class FolderHosts(FakeHosts):
    """Fake hosts whose folders start empty and whose scripts report every name done."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(self.answer, **kwargs)  # type: ignore[arg-type]

    def answer(self, call: HostCall) -> HostResult | None:
        if call.action != "run" or call.host in self.unreachable:
            return None
        names = [line.split(" ")[-1] for line in (call.stdin or "").splitlines()]
        verb = (
            "placed" if "mv -fT" in call.command else "deleted" if "rm -f" in call.command else ""
        )
        out = "--\n" if "echo --" in call.command else "".join(f"{verb} {n}\n" for n in names)
        return HostResult(call.host, "ok", 0, stdout=out)


def step(call: HostCall) -> str:
    if call.action == "put":
        return "put " + call.command.split()[-1].rsplit(TMP_PREFIX, 1)[-1]
    return "list" if "echo --" in call.command else "place" if "mv -fT" in call.command else "rm"


def test_sync_puts_the_last_files_after_the_others_one_session_per_host(site: Path) -> None:
    inventory = Inventory.parse({"web1": {}, "web2": {}, "web3": {}})
    fake = FolderHosts(unreachable={"web2"})
    folders = remote_folders(inventory, inventory.hosts, "/srv/{host.name}", backend=fake)
    result = sync_files(folders, site, last=["index.html"])
    assert not result.ok and result.failed == ["web2"]
    assert "cannot connect to web2" in (result.hosts[1].error or "")
    assert result.hosts[0].uploaded == ("a.css", "b.js", "index.html")
    puts = [c.split()[-1] for c in fake.ran("web1", "put")]
    assert puts == [f"/srv/web1/{TMP_PREFIX}{n}" for n in ("a.css", "b.js", "index.html")]
    steps = [step(c) for c in fake.calls if c.host == "web3"]
    assert steps == ["list", "put a.css", "put b.js", "place", "put index.html", "place"]
    assert sorted(fake.sessions) == ["web1", "web2", "web3"]


def test_sync_refuses_bad_input_before_contacting_a_host(site: Path) -> None:
    inventory = Inventory.parse({"web1": {}})
    fake = FolderHosts()
    folders = remote_folders(inventory, inventory.hosts, "/srv", backend=fake)
    with pytest.raises(SyncError, match="not among the files"):
        sync_files(folders, site, last=["missing.html"])
    (site / "link").symlink_to(site / "a.css")
    with pytest.raises(SyncError, match="symlink"):
        sync_files(folders, site)
    assert fake.calls == []


# -- over real sshd ----------------------------------------------------------------------


def held(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_sync_makes_each_host_hold_exactly_the_files(
    inventory: Inventory, work: Path, site: Path
) -> None:
    hosts = inventory.hosts_for("web")[:3]
    folders = remote_folders(inventory, hosts, f"{work}/www/{{host.name}}")
    first = sync_files(folders, site, last=["index.html"])
    assert first.ok, first.summary()
    assert all(h.uploaded == ("a.css", "b.js", "index.html") for h in first.hosts)
    for host in hosts:
        assert held(work / "www" / host.name) == held(site)

    again = sync_files(folders, site, last=["index.html"])
    assert again.ok and all(h.uploaded == () and h.deleted == () for h in again.hosts)

    web2 = work / "www" / "web2"
    (web2 / "b.js").write_text("tampered")
    (web2 / "stale.txt").write_text("old")
    (web2 / "docs").mkdir()
    (web2 / "elsewhere").symlink_to(work / "outside.txt")
    (work / "outside.txt").write_text("keep me")
    (web2 / "a\nb").write_text("odd name")
    repaired = sync_files(folders, site)
    assert repaired.ok, repaired.summary()
    fixed = repaired.hosts[1]
    assert fixed.uploaded == ("b.js",) and fixed.deleted == ("elsewhere", "stale.txt")
    assert held(web2) == {**held(site), "a\nb": b"odd name"}  # a name it cannot list is left
    assert (web2 / "docs").is_dir() and (work / "outside.txt").read_text() == "keep me"
    assert [h.uploaded for h in (repaired.hosts[0], repaired.hosts[2])] == [(), ()]


@pytest.mark.slow
def test_a_dry_run_reports_and_changes_nothing(
    inventory: Inventory, work: Path, site: Path
) -> None:
    folders = remote_folders(inventory, inventory.hosts_for("web")[:1], f"{work}/dry")
    preview = sync_files(folders, site, dry_run=True)
    assert preview.ok and preview.hosts[0].uploaded == ("a.css", "b.js", "index.html")
    assert "would upload a.css" in preview.summary()
    assert not (work / "dry").exists()


@pytest.mark.slow
def test_a_host_down_fails_alone_and_keeps_the_others_synced(
    inventory: Inventory, work: Path, site: Path, cluster: SshdCluster
) -> None:
    cluster.kill("web2")
    folders = remote_folders(inventory, inventory.hosts_for("web")[:3], f"{work}/{{host.name}}")
    result = sync_files(folders, site)
    assert result.failed == ["web2"]
    assert "connection refused" in (result.hosts[1].error or "")
    assert held(work / "web1") == held(site) and held(work / "web3") == held(site)


@pytest.mark.slow
def test_an_upload_that_no_longer_matches_its_digest_is_not_put_in_place(
    inventory: Inventory, work: Path, tmp_path: Path
) -> None:
    artifact = tmp_path / "app.tgz"
    artifact.write_bytes(os.urandom(1024))
    declared = SyncFile("app.tgz", artifact, sha(b"what the manifest says"))
    folders = remote_folders(inventory, inventory.hosts_for("web")[:1], f"{work}/feed")
    result = sync_files(folders, [declared])
    assert not result.ok and "does not match its sha256" in (result.hosts[0].error or "")
    assert not (work / "feed" / "app.tgz").exists()
    assert [p.name for p in (work / "feed").iterdir()] == []


def test_read_tells_a_missing_file_from_a_host_it_cannot_reach() -> None:
    def handler(call: HostCall) -> HostResult | None:
        if call.host != "web1":
            return None
        if call.action == "get":
            return HostResult("web1", "failed", error="download failed", error_kind="transfer")
        return HostResult("web1", "failed", exit_code=1, error="exit code 1", error_kind="exit")

    inventory = Inventory.parse({"web1": {}, "web2": {}})
    fake = FakeHosts(handler, unreachable={"web2"})
    web1, web2 = remote_folders(inventory, inventory.hosts, "/srv", backend=fake)
    assert web1.read("feed.json") is None
    assert fake.ran("web1") == ["test -e /srv/feed.json"]
    with pytest.raises(FolderError) as caught:
        web2.read("feed.json")
    assert caught.value.kind == "connect" and fake.ran("web2") == []  # no second attempt
