"""Mirror the update feed to a folder on remote hosts (the web servers) over SSH.

The local feed folder stays the source of truth: ``feed publish``, ``remove`` and
``point-latest`` change it, and ``mirror`` makes every host's folder say the same,
through the library's sync primitive (``opsbooks.backends.sync``). Per host, over one
connection: upload the artifacts the host lacks or holds different (compared by
``sha256sum`` on the host, checked again after upload before ``mv`` puts them in
place), then ``appcast.xml`` and ``feed.json`` the same way, and only then delete the
artifacts the host's previous feed named and the new one does not. So a web server
never serves a feed naming an artifact it does not have. Hosts are done at the same
time, each on its own; a failure names every host that failed and the hosts that
were done. Hosts and SSH settings come from the ``[hosts]`` and ``[ssh]`` tables of
the configuration; host keys are checked against ``known_hosts``. A host needs
``sh``, ``sha256sum`` and ``mv`` (GNU coreutils).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from opsbooks import BadInput
from opsbooks.actions import Program
from opsbooks.backends.hosts import load_inventory
from opsbooks.backends.sync import (
    FolderError,
    RemoteFolder,
    SyncFile,
    collect,
    remote_folders,
)
from opsbooks_playbooks.actions import (
    ActionError,
    UsageError,
    optional_version_arg,
    program,
)
from opsbooks_playbooks.actions.feed import load
from opsbooks_playbooks.actions.feed_format import (
    APPCAST,
    FEED_JSON,
    Feed,
    check_feeds,
    from_json,
    parse_appcast,
    render_appcast,
    rollback_target,
    to_json,
    without,
)
from opsbooks_playbooks.actions.git import tag_versions
from opsbooks_playbooks.actions.signing import sig_name, sig_text

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$")
_WORKERS = 10
_INDEX = (APPCAST, FEED_JSON)  # placed after the artifacts, feed.json last


def connect(target: str, path: str, config: Path | None = None) -> list[RemoteFolder]:
    """The feed folders of the hosts ``target`` names (a host, else a role).

    ``path`` may name host fields (``/srv/{host.name}/feed``). Anything wrong with the
    configuration, the name, a key file or the path is a UsageError, raised before
    any connection is made.
    """
    try:
        inventory = load_inventory(config or Path.cwd())
        names = [host.name for host in inventory.hosts]
        if target in names:
            hosts = [inventory.host(target)]
        elif target in inventory.roles:
            hosts = inventory.hosts_for(target)
        else:
            raise UsageError(
                f"{target!r} is neither a host nor a role of the [hosts] table "
                f"(hosts: {', '.join(names) or 'none'}; roles: "
                f"{', '.join(inventory.roles) or 'none'}); add it to opsbooks.toml or "
                f"pass --host one of them"
            )
        return remote_folders(inventory, hosts, path)
    except BadInput as exc:
        raise UsageError(str(exc)) from None


def _where(folder: RemoteFolder) -> str:
    return f"{folder.host.name}:{folder.path}"


def _local(feed_dir: Path) -> Feed:
    """The local feed, refusing a folder without one: mirroring it would empty the hosts."""
    if not (feed_dir / FEED_JSON).is_file():
        raise UsageError(
            f"{feed_dir} has no {FEED_JSON}; pass --feed-dir the local feed folder "
            f"(mirroring an empty feed would delete every release on the hosts)"
        )
    feed = load(feed_dir)
    for release in feed.releases:
        if not _SAFE_NAME.match(release.file):
            raise ActionError(
                f"{release.version}'s file name {release.file!r} is not a plain file name "
                f"(letters, digits, . _ + -); fix {FEED_JSON} before mirroring it"
            )
    return feed


@contextmanager
def _feed_files(feed_dir: Path, feed: Feed) -> Iterator[list[SyncFile]]:
    """What each host's folder must hold for ``feed``: its artifacts, then the index files.

    Artifacts are taken at the feed's sha256 (read only when a host needs one); the
    index files are rendered from ``feed`` into a scratch folder.
    """
    with tempfile.TemporaryDirectory(prefix="opsbooks-feed-") as folder:
        scratch = Path(folder)
        (scratch / APPCAST).write_bytes(render_appcast(feed))
        (scratch / FEED_JSON).write_bytes(to_json(feed))
        artifacts = [SyncFile(r.file, feed_dir / r.file, r.sha256) for r in feed.releases]
        signatures = []
        for release in (r for r in feed.releases if r.ed_signature):  # as feed.json says
            (scratch / sig_name(release.file)).write_bytes(sig_text(release.ed_signature))
            signatures.append(scratch / sig_name(release.file))
        yield list(collect([*artifacts, *signatures, *(scratch / name for name in _INDEX)]))


def _served_files(folder: RemoteFolder) -> set[str]:
    """The artifacts the host's current feed names (nothing for a missing or bad feed).

    A host that cannot be reached fails here (``FolderError``), before anything changed.
    """
    try:
        data = folder.read(FEED_JSON)
        return set() if data is None else set(_files_of(from_json(data)))
    except FolderError as exc:
        if exc.kind != "transfer":
            raise
        return set()  # an unreadable remote feed is replaced; nothing is pruned
    except ActionError:
        return set()  # a malformed remote feed is replaced; nothing is pruned


def _files_of(feed: Feed) -> dict[str, str]:
    """Every file a feed names, with its sha256: artifacts and their detached signatures."""
    files = {r.file: r.sha256 for r in feed.releases}
    for release in (r for r in feed.releases if r.ed_signature):
        files[sig_name(release.file)] = _sha256(sig_text(release.ed_signature))
    return files


def mirror_host(folder: RemoteFolder, files: Sequence[SyncFile], feed: Feed) -> str:
    """Make one host's folder hold ``feed``; see the module docstring for the order."""
    before = _served_files(folder)
    done = folder.sync(files, last=_INDEX, prune=lambda name: name in before)
    if not done.ok:
        raise ActionError(done.describe())
    uploaded = ", ".join(n for n in done.uploaded if n not in _INDEX) or "no artifacts"
    removed = f"; deleted {', '.join(done.deleted)}" if done.deleted else ""
    return f"{_where(folder)}: uploaded {uploaded}{removed}; latest is {feed.latest or 'none'}"


def mirror(
    feed_dir: Path,
    host: str,
    path: str,
    *,
    config: Path | None = None,
    exclude_version: str = "",
) -> str:
    """Make the feed folder on each host (or role) say what the local feed folder says.

    ``exclude_version`` mirrors the feed as it would be without that release: the undo
    of a mirror done after publishing it, correct whichever undo runs first.
    """
    folders = connect(host, path, config)
    feed = _local(feed_dir)
    if exclude_version:
        feed = without(feed, exclude_version)
    with _feed_files(feed_dir, feed) as files:
        return _each(folders, lambda folder: mirror_host(folder, files, feed))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_host(
    folder: RemoteFolder,
    local: Feed,
    version: str,
    *,
    bad: str = "",
    repo: Path | None = None,
    base_url: str = "",
) -> str:
    """Check one host's folder matches the local feed and offers ``version`` intact."""
    where = _where(folder)
    sums = _files_of(local)
    held = folder.listing([*_INDEX, *sums])
    if FEED_JSON not in held.files:
        raise ActionError(f"{where} has no {FEED_JSON}; run feed_remote mirror first")
    if held.sha256.get(FEED_JSON) != _sha256(to_json(local)):
        raise ActionError(
            f"{where}/{FEED_JSON} differs from the local feed folder's; run "
            f"`python -m opsbooks_playbooks.actions.feed_remote mirror` again"
        )
    items = parse_appcast(render_appcast(local))
    if held.sha256.get(APPCAST) != _sha256(render_appcast(local)):
        served = folder.read(APPCAST)
        if served is None or parse_appcast(served) != items:
            raise ActionError(f"{where}/{APPCAST} does not match {FEED_JSON}; mirror again")
    if not version:
        tags = None if repo is None else tag_versions(repo)
        version = rollback_target(local, tags, bad)[1]
    check_feeds(local, items, version, base_url)
    broken = sorted(name for name, digest in sums.items() if held.sha256.get(name) != digest)
    if broken:
        raise ActionError(
            f"{where}: {', '.join(broken)} missing or not matching the feed's sha256; "
            f"mirror again to re-upload them"
        )
    return f"{where} offers {version}; feed.json, appcast.xml and every artifact match"


def verify(
    feed_dir: Path,
    host: str,
    path: str,
    version: str = "",
    *,
    config: Path | None = None,
    bad: str = "",
    repo: Path | None = None,
    base_url: str = "",
) -> str:
    """Check each host's folder is in step with the local feed and offers ``version`` intact.

    With no ``version`` the rollback target is checked, chosen as ``point-latest`` does.
    """
    folders = connect(host, path, config)
    local = _local(feed_dir)
    return _each(
        folders,
        lambda folder: verify_host(folder, local, version, bad=bad, repo=repo, base_url=base_url),
    )


def check(host: str, path: str, *, config: Path | None = None) -> str:
    """Check every host is reachable and its feed folder can be created and written."""
    folders = connect(host, path, config)

    def probe(folder: RemoteFolder) -> str:
        state = "holds a feed" if FEED_JSON in folder.listing(create=True).files else "no feed yet"
        return f"{_where(folder)} is writable ({state})"

    return _each(folders, probe)


def _each(folders: Sequence[RemoteFolder], act: Callable[[RemoteFolder], str]) -> str:
    """Do ``act`` on every host at once (at most 10 at a time); report all failures together.

    Each host is independent and fully done or failed on its own, so one slow or
    dead web server neither delays nor blocks the others.
    """
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(folders) or 1)) as pool:
        outcomes = list(pool.map(lambda folder: _attempt(act, folder), folders))
    done = [text for ok, text in outcomes if ok]
    failed = [text for ok, text in outcomes if not ok]
    if failed:
        ok = f" (done: {'; '.join(done)})" if done else ""
        raise ActionError(" | ".join(failed) + ok)
    return "\n".join(done)


def _attempt(act: Callable[[RemoteFolder], str], folder: RemoteFolder) -> tuple[bool, str]:
    try:
        with folder.connected():  # one SSH connection for the host's work
            return True, act(folder)
    except FolderError as exc:
        return False, f"{_where(folder)}: {exc}"
    except ActionError as exc:
        return False, str(exc)


def _program() -> Program:
    sub = program("feed_remote", __doc__)

    def where(p: argparse.ArgumentParser) -> None:
        p.add_argument("--feed-dir", type=Path, required=True, help="the local feed folder")
        p.add_argument("--host", required=True, help="a host or role of the [hosts] table")
        p.add_argument("--path", required=True, help="feed folder on the host; may use {host.name}")
        p.add_argument("--config", type=Path, help="opsbooks.toml (default: found from cwd)")

    p = sub.add(
        "mirror",
        lambda a: mirror(
            a.feed_dir, a.host, a.path, config=a.config, exclude_version=a.exclude_version
        ),
        mirror.__doc__,
    )
    where(p)
    p.add_argument(
        "--exclude-version", type=optional_version_arg, default="", help="mirror without it"
    )
    p = sub.add(
        "verify",
        lambda a: verify(
            a.feed_dir,
            a.host,
            a.path,
            a.version,
            config=a.config,
            bad=a.bad,
            repo=a.repo,
            base_url=a.base_url,
        ),
        verify.__doc__,
    )
    where(p)
    p.add_argument("--version", type=optional_version_arg, default="", help="(or rollback target)")
    p.add_argument("--bad", type=optional_version_arg, default="", help="with no --version")
    p.add_argument("--repo", type=Path, help="with no --version: only tagged targets")
    p.add_argument("--base-url", default="", help="artifact URLs must start with this")
    p = sub.add("check", lambda a: check(a.host, a.path, config=a.config), check.__doc__)
    p.add_argument("--host", required=True, help="a host or role of the [hosts] table")
    p.add_argument("--path", required=True, help="feed folder on the host; may use {host.name}")
    p.add_argument("--config", type=Path, help="opsbooks.toml (default: found from cwd)")
    return sub


PROGRAM = _program()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.feed_remote``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
