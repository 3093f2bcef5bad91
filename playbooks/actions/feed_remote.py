"""Mirror the update feed to a folder on remote hosts (the web servers) over SSH, with fabric.

The local feed folder stays the source of truth: ``feed publish``, ``remove`` and
``point-latest`` change it, and ``mirror`` makes every host's folder say the same.
Per host, in this order: upload the artifacts the host lacks or holds different
(compared by ``sha256sum`` on the host, checked again after upload before ``mv``
puts them in place), then ``appcast.xml`` and ``feed.json`` under temporary names
moved into place, and only then delete the artifacts the new feed no longer names.
So a web server never serves a feed naming an artifact it does not have. Hosts are
done at the same time, each on its own; a failure names every host that failed and
the hosts that were done. Hosts and SSH settings come from the ``[hosts]`` and
``[ssh]`` tables of the configuration; host keys are checked against
``known_hosts``. A host needs ``sh``, ``sha256sum`` and ``mv`` (GNU coreutils).
"""

from __future__ import annotations

import argparse
import re
import shlex
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from opsbooks.actions import Program
from opsbooks.backends.hosts.inventory import Host, Inventory, bind_for_host
from opsbooks.backends.rollout import HostResult
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.edges.config import load_config
from opsbooks.errors import BadInput
from playbooks.actions import (
    ActionError,
    UsageError,
    optional_version_arg,
    program,
)
from playbooks.actions.feed import check_artifact, load
from playbooks.actions.feed_format import (
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
from playbooks.actions.git import tag_versions

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_+-][A-Za-z0-9._+-]*$")
_CHECK_BATCH = 15  # a command's output is kept to its last 20 lines
_WORKERS = 10


def connect(target: str, path: str, config: Path | None = None) -> list[FeedHost]:
    """The feed folders of the hosts ``target`` names (a host, else a role).

    ``path`` may name host fields (``/srv/{host.name}/feed``). Anything wrong with the
    configuration, the name, a key file or the path is a UsageError, raised before
    any connection is made.
    """
    try:
        inventory = Inventory.from_config(load_config(file=config))
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
        inventory.preflight(hosts, [path])
        executor = RemoteExecutor(inventory)
        return [FeedHost(executor, h, bind_for_host(path, h, shell=False)) for h in hosts]
    except BadInput as exc:
        raise UsageError(str(exc)) from None


class FeedHost:
    """One host's feed folder: commands and transfers that raise ActionError on failure."""

    def __init__(self, executor: RemoteExecutor, host: Host, path: str) -> None:
        self.executor = executor
        self.host = host
        self.path = path
        self.quoted = shlex.quote(path)

    def sh(self, command: str) -> str:
        """Run ``command`` in the feed folder; return the tail of its output."""
        return self._run(f"cd {self.quoted} || exit 3\n{command}")

    def prepare(self, *, create: bool = True) -> bool:
        """Check the folder is there (made if ``create``) and writable; say if it has a feed."""
        make = f"mkdir -p -- {self.quoted} && " if create else ""
        probe = (
            f"{make}test -d {self.quoted} && test -w {self.quoted} "
            f"|| {{ echo 'the folder is missing or not writable' >&2; exit 3; }}\n"
            f"if test -f {shlex.quote(self.path.rstrip('/') + '/' + FEED_JSON)}; "
            f"then echo feed; fi"
        )
        return self._run(probe).strip() == "feed"

    def _run(self, command: str) -> str:
        return self._ok(self.executor.run(self.host, command)).stdout_tail

    def fetch(self, name: str, into: Path) -> bytes:
        """Download ``name`` from the folder."""
        local = into / name
        self._ok(self.executor.download(self.host, self._remote(name), local))
        return local.read_bytes()

    def put(self, local: Path, name: str) -> None:
        """Upload ``local`` as ``name`` in the folder (callers pass a temporary name)."""
        self._ok(self.executor.upload(self.host, local, self._remote(name)))

    def _ok(self, result: HostResult) -> HostResult:
        if not result.ok:
            raise ActionError(self._why(result))
        return result

    def mismatched(self, sums: dict[str, str]) -> list[str]:
        """The files among ``sums`` (name -> sha256) that are missing or differ on the host."""
        bad: list[str] = []
        names = sorted(sums)
        for start in range(0, len(names), _CHECK_BATCH):
            lines = [f"{sums[n]}  {n}" for n in names[start : start + _CHECK_BATCH]]
            listing = " ".join(shlex.quote(line) for line in lines)
            out = self.sh(
                f"printf '%s\\n' {listing} | sha256sum -c - 2>/dev/null | grep -v ': OK$'; true"
            )
            bad += [line.split(":", 1)[0] for line in out.splitlines() if ":" in line]
        return bad

    def _remote(self, name: str) -> str:
        return self.path.rstrip("/") + "/" + name

    def _why(self, result: HostResult) -> str:
        detail = result.stderr_tail.strip().splitlines()
        said = f" ({detail[-1]})" if detail else ""
        return f"{self.host.name}:{self.path}: {result.error}{said}"


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
def _scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="opsbooks-feed-") as folder:
        yield Path(folder)


def mirror_host(target: FeedHost, feed_dir: Path, feed: Feed) -> str:
    """Make one host's folder hold ``feed``; see the module docstring for the order."""
    with _scratch() as scratch:
        had_feed = target.prepare()
        before: set[str] = set()
        if had_feed:
            try:
                before = {r.file for r in from_json(target.fetch(FEED_JSON, scratch)).releases}
            except ActionError:
                before = set()  # a malformed remote feed is replaced; nothing is pruned
        wanted = {r.file: r for r in feed.releases}
        missing = target.mismatched({name: r.sha256 for name, r in wanted.items()})
        for name in missing:
            check_artifact(feed_dir, wanted[name])
            partial = f".{name}.partial"
            target.put(feed_dir / name, partial)
            target.sh(
                f"printf '%s  %s\\n' {wanted[name].sha256} {shlex.quote(partial)} "
                f"| sha256sum -c --quiet - >&2 || {{ rm -f -- {shlex.quote(partial)}; "
                f"echo 'uploaded copy does not match its sha256' >&2; exit 4; }}\n"
                f"mv -fT -- {shlex.quote(partial)} {shlex.quote(name)}"
            )
        (scratch / APPCAST).write_bytes(render_appcast(feed))
        (scratch / FEED_JSON).write_bytes(to_json(feed))
        target.put(scratch / APPCAST, f".{APPCAST}.tmp")
        target.put(scratch / FEED_JSON, f".{FEED_JSON}.tmp")
        target.sh(f"mv -fT .{APPCAST}.tmp {APPCAST} && mv -fT .{FEED_JSON}.tmp {FEED_JSON}")
        gone = sorted(n for n in before - set(wanted) if _SAFE_NAME.match(n))
        if gone:
            target.sh("rm -f -- " + " ".join(shlex.quote(n) for n in gone))
    uploaded = ", ".join(missing) or "no artifacts"
    removed = f"; deleted {', '.join(gone)}" if gone else ""
    return (
        f"{target.host.name}:{target.path}: uploaded {uploaded}{removed}; "
        f"latest is {feed.latest or 'none'}"
    )


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
    return _each(folders, lambda target: mirror_host(target, feed_dir, feed))


def verify_host(
    target: FeedHost,
    local: Feed,
    version: str,
    *,
    bad: str = "",
    repo: Path | None = None,
    base_url: str = "",
) -> str:
    """Check one host's folder matches the local feed and offers ``version`` intact."""
    where = f"{target.host.name}:{target.path}"
    with _scratch() as scratch:
        if not target.prepare(create=False):
            raise ActionError(f"{where} has no {FEED_JSON}; run feed_remote mirror first")
        served = target.fetch(FEED_JSON, scratch)
        items = parse_appcast(target.fetch(APPCAST, scratch))
    if served != to_json(local):
        raise ActionError(
            f"{where}/{FEED_JSON} differs from the local feed folder's; run "
            f"`python -m playbooks.actions.feed_remote mirror` again"
        )
    if items != parse_appcast(render_appcast(local)):
        raise ActionError(f"{where}/{APPCAST} does not match {FEED_JSON}; mirror again")
    feed = from_json(served)
    if not version:
        tags = None if repo is None else tag_versions(repo)
        version = rollback_target(feed, tags, bad)[1]
    check_feeds(feed, items, version, base_url)
    broken = target.mismatched({r.file: r.sha256 for r in feed.releases})
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
        lambda target: verify_host(target, local, version, bad=bad, repo=repo, base_url=base_url),
    )


def check(host: str, path: str, *, config: Path | None = None) -> str:
    """Check every host is reachable and its feed folder can be created and written."""
    folders = connect(host, path, config)

    def probe(target: FeedHost) -> str:
        has = target.prepare()
        state = "holds a feed" if has else "no feed yet"
        return f"{target.host.name}:{target.path} is writable ({state})"

    return _each(folders, probe)


def _each(folders: Sequence[FeedHost], act: Callable[[FeedHost], str]) -> str:
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


def _attempt(act: Callable[[FeedHost], str], folder: FeedHost) -> tuple[bool, str]:
    try:
        with folder.executor.session(folder.host):  # one SSH connection for the host's work
            return True, act(folder)
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
    """Run ``python -m playbooks.actions.feed_remote``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
