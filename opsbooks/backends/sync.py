"""Make a folder on each host hold exactly a set of files: the sync-files-to-hosts primitive.

Per host, over one connection: list the folder, hashing (``sha256sum`` on the host)
the files it should hold; upload each one missing or different under a temporary
name, check its hash there and ``mv -T`` it into place (atomic: readers see the old
file or the new one); then the files named ``last`` (an index), in that order; then
delete the extras. So a folder never names a file it does not hold yet. Hosts run in
parallel; each gets a frozen ``HostSync`` saying what was uploaded and deleted, or
why it failed. Nothing raises for a host problem.

No name from the data leaves its folder: names are plain file names (no ``/``, ``..``
or control characters), local symlinks and subfolders are refused, and nothing on a
host is followed or deleted outside it. Hosts need ``sh``, ``sha256sum``, ``mv``.
docs/guides/remote-hosts.md ("Syncing files to hosts") shows it in use.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from opsbooks.backends.hosts.inventory import Host, Inventory, bind_for_host
from opsbooks.backends.protocols import HostBackend
from opsbooks.backends.rollout import ErrorKind, HostResult
from opsbooks.backends.ssh.executor import RemoteExecutor
from opsbooks.errors import SyncError

TMP_PREFIX = ".opsbooks-tmp."
_HASH_LINE = re.compile(r"^([0-9a-f]{64})  (.+)$")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")

Prune = bool | Callable[[str], bool]


class FolderError(Exception):
    """One host's folder could not be read or changed; the message says why."""

    def __init__(self, message: str, kind: ErrorKind = "error") -> None:
        self.kind: ErrorKind = kind
        super().__init__(message)


@dataclass(frozen=True)
class SyncFile:
    """A file to place on the hosts as ``name``; ``sha256`` empty: hashed from ``path``.

    With ``sha256`` given, ``path`` is read only when a host needs the file (and not
    uploaded if it no longer matches).
    """

    name: str
    path: Path
    sha256: str = ""


@dataclass(frozen=True)
class Listing:
    """A host folder's entries: regular files (``sha256``: hashes of the ones asked for)."""

    exists: bool = True
    files: frozenset[str] = frozenset()
    links: frozenset[str] = frozenset()
    sha256: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostSync:
    """What a sync did on one host's folder (with ``dry_run``: what it would do)."""

    host: str
    path: str
    uploaded: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    error: str | None = None
    error_kind: ErrorKind | None = None
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        """One line: ``host:path: uploaded a, b; deleted c`` (or why it failed)."""
        if self.error is not None:
            return f"{self.host}:{self.path}: {self.error}"
        up, rm = ("would upload", "would delete") if self.dry_run else ("uploaded", "deleted")
        gone = f"; {rm} {', '.join(self.deleted)}" if self.deleted else ""
        return f"{self.host}:{self.path}: {up} {', '.join(self.uploaded) or 'nothing'}{gone}"


@dataclass(frozen=True)
class SyncResult:
    """Every host's ``HostSync``, in the order the folders were given."""

    hosts: tuple[HostSync, ...]

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.hosts)

    @property
    def failed(self) -> list[str]:
        return [h.host for h in self.hosts if not h.ok]

    def summary(self) -> str:
        return "\n".join(h.describe() for h in self.hosts)


def _plain(name: str) -> bool:
    return (
        name not in ("", ".", "..")
        and not _UNSAFE.search(name)
        and name == name.strip()
        and not name.startswith(TMP_PREFIX)
        and len(name.encode()) <= 255
    )


def check_name(name: str) -> str:
    """``name`` if it is a plain file name that stays in its folder; else ``SyncError``."""
    if not _plain(name):
        raise SyncError(
            f"{name!r} is not a plain file name (no '/', '..', backslash, control "
            f"characters or surrounding spaces, not starting with {TMP_PREFIX!r}); "
            f"rename it before syncing"
        )
    return name


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def collect(source: Path | Iterable[Path | SyncFile]) -> tuple[SyncFile, ...]:
    """The files of a folder or a list, checked: ``SyncError`` for symlinks, subfolders,
    special files, names that are not plain and duplicate names."""
    if isinstance(source, Path):
        if not source.is_dir():
            raise SyncError(f"{source} is not a folder; give a folder or a list of files")
        source = sorted(source.iterdir())
    files: dict[str, SyncFile] = {}
    for item in source:
        entry = item if isinstance(item, SyncFile) else SyncFile(item.name, item)
        check_name(entry.name)
        if entry.path.is_symlink():
            raise SyncError(f"{entry.path} is a symlink; sync the file it points to instead")
        if not entry.sha256:
            if not entry.path.is_file():
                raise SyncError(f"{entry.path} is not a regular file (subfolders are not synced)")
            entry = SyncFile(entry.name, entry.path, sha256_file(entry.path))
        if entry.name in files:
            raise SyncError(f"two files would both be {entry.name!r} on the hosts")
        files[entry.name] = entry
    return tuple(files.values())


@dataclass(frozen=True)
class Changes:
    """What one host's folder needs: uploads (the ``last`` ones apart, in order), deletions."""

    first: tuple[SyncFile, ...]
    last: tuple[SyncFile, ...]
    delete: tuple[str, ...]


def plan_changes(
    files: Sequence[SyncFile], listing: Listing, last: Sequence[str] = (), prune: Prune = True
) -> Changes:
    """Compare ``files`` with a folder's ``listing``: pure, so it is tested without hosts."""
    changed = [f for f in files if listing.sha256.get(f.name) != f.sha256]
    rank = {name: i for i, name in enumerate(last)}
    return Changes(
        first=tuple(f for f in changed if f.name not in rank),
        last=tuple(sorted((f for f in changed if f.name in rank), key=lambda f: rank[f.name])),
        delete=_doomed(listing, {f.name for f in files}, prune),
    )


def _doomed(listing: Listing, wanted: Collection[str], prune: Prune) -> tuple[str, ...]:
    """The extras ``prune`` lets go, then any leftover temporary files of an earlier sync."""
    present = sorted(listing.files | listing.links)
    keep = prune if callable(prune) else (lambda _name: prune)
    extras = [n for n in present if n not in wanted and _plain(n) and keep(n)]
    return tuple(extras + [n for n in present if n.startswith(TMP_PREFIX)])


def parse_listing(output: str) -> Listing:
    """Read what ``RemoteFolder.listing``'s command printed: hashes, ``--``, then entries."""
    lines = output.splitlines()
    if lines[:1] == ["M"]:
        return Listing(exists=False)
    marker = lines.index("--") if "--" in lines else len(lines)
    sums = {m[2]: m[1] for m in map(_HASH_LINE.match, lines[:marker]) if m}
    kinds: dict[str, set[str]] = {"F": set(), "L": set()}
    for line in lines[marker + 1 :]:
        kind, _, name = line.partition(" ")
        if kind in kinds and name:
            kinds[kind].add(name)
    return Listing(
        files=frozenset(kinds["F"]),
        links=frozenset(kinds["L"]),
        sha256={n: s for n, s in sums.items() if n in kinds["F"]},
    )


_LIST = """\
while IFS= read -r f; do
  if [ -f "$f" ] && [ ! -L "$f" ]; then sha256sum -- "$f"; fi
done
echo --
for f in * .[!.]* ..?*; do
  case $f in *'
'*) continue ;; esac
  if [ -L "$f" ]; then printf 'L %s\\n' "$f"
  elif [ -f "$f" ]; then printf 'F %s\\n' "$f"
  fi
done
"""
_PLACE = f"""\
while read -r sum name; do
  tmp="{TMP_PREFIX}$name"
  printf '%s  %s\\n' "$sum" "$tmp" | sha256sum -c --status - || {{
    rm -f -- "$tmp"; echo "the uploaded copy of $name does not match its sha256" >&2; exit 4; }}
  mv -fT -- "$tmp" "$name" || {{ rm -f -- "$tmp"; exit 5; }}
  printf 'placed %s\\n' "$name"
done
"""
_DELETE = """\
while IFS= read -r name; do rm -f -- "$name" || exit 6; printf 'deleted %s\\n' "$name"; done
"""


class RemoteFolder:
    """One folder on one host, reached through a ``HostBackend``.

    Its methods raise ``FolderError`` for a host problem; ``sync`` reports instead.
    """

    def __init__(self, backend: HostBackend, host: Host, path: str) -> None:
        self.backend = backend
        self.host = host
        self.path = path
        self._cd = f"cd -- {shlex.quote(path)} || exit 3\n"

    def connected(self) -> AbstractContextManager[None]:
        """Keep one connection to the host for the calls made inside the block."""
        return self.backend.session(self.host)

    def listing(self, hashes: Collection[str] = (), *, create: bool = False) -> Listing:
        """The folder's entries, with the sha256 of the regular files among ``hashes``.

        ``create`` makes the folder if missing (and it must be writable); without, a
        missing folder lists as ``exists=False``."""
        quoted = shlex.quote(self.path)
        if create:
            head = f"mkdir -p -- {quoted} 2>/dev/null; test -d {quoted} && test -w {quoted} "
            head += "|| { echo 'the folder is missing or not writable' >&2; exit 3; }\n"
        else:
            head = f"test -e {quoted} || {{ echo M; exit 0; }}\n"
            head += f"test -d {quoted} && test -r {quoted} "
            head += "|| { echo 'the path is not a readable folder' >&2; exit 3; }\n"
        names = "".join(f"{check_name(n)}\n" for n in hashes)
        listed = self.backend.run(self.host, head + self._cd + _LIST, stdin=names)
        if not listed.ok:
            raise FolderError(self._why(listed), listed.error_kind or "exit")
        return parse_listing(listed.stdout)

    def read(self, name: str) -> bytes | None:
        """The content of file ``name`` in the folder; ``None`` if there is none."""
        remote = self._remote(check_name(name))
        with tempfile.TemporaryDirectory(prefix="opsbooks-read-") as scratch:
            local = Path(scratch) / "copy"
            got = self.backend.get(self.host, remote, local)
            if got.ok:
                return local.read_bytes()
        kind = got.error_kind or "transfer"
        probe = f"test -e {shlex.quote(remote)}"
        if kind == "transfer" and self.backend.run(self.host, probe).exit_code == 1:
            return None  # the host answered: there is no such file
        raise FolderError(self._why(got), kind)

    def sync(
        self,
        files: Sequence[SyncFile],
        *,
        last: Sequence[str] = (),
        prune: Prune = True,
        dry_run: bool = False,
    ) -> HostSync:
        """Make the folder hold exactly ``files``, in the module docstring's order; ``prune``:
        which extras go (all, none, or those a predicate accepts; a sync's leftovers always)."""
        done: list[str] = []
        deleted: list[str] = []
        try:
            listing = self.listing([f.name for f in files], create=not dry_run)
            changes = plan_changes(files, listing, last, prune)
            if dry_run:
                uploads = [f.name for f in changes.first + changes.last]
                return HostSync(
                    self.host.name, self.path, tuple(uploads), changes.delete, dry_run=True
                )
            for group in (changes.first, changes.last):
                self._place(group, done)
            self._delete(changes.delete, deleted)
        except FolderError as exc:
            return HostSync(
                self.host.name, self.path, tuple(done), tuple(deleted), str(exc), exc.kind
            )
        return HostSync(self.host.name, self.path, tuple(done), tuple(deleted))

    def _place(self, group: Sequence[SyncFile], done: list[str]) -> None:
        """Upload ``group`` under temporary names, then check and move each into place."""
        for item in group:
            if not item.path.is_file() or sha256_file(item.path) != item.sha256:
                raise FolderError(f"local file {item.path} is missing or does not match its sha256")
            sent = self.backend.put(self.host, item.path, self._remote(TMP_PREFIX + item.name))
            if not sent.ok:
                raise FolderError(self._why(sent), sent.error_kind or "transfer")
        if group:
            lines = "".join(f"{f.sha256} {f.name}\n" for f in group)
            self._script(_PLACE, lines, "placed ", done)

    def _delete(self, names: Sequence[str], deleted: list[str]) -> None:
        if names:
            self._script(_DELETE, "".join(f"{n}\n" for n in names), "deleted ", deleted)

    def _script(self, script: str, stdin: str, prefix: str, done: list[str]) -> None:
        """Run a per-name script; add the names it reports to ``done``, even if it fails."""
        result = self.backend.run(self.host, self._cd + script, stdin=stdin)
        done += [
            line[len(prefix) :] for line in result.stdout.splitlines() if line.startswith(prefix)
        ]
        if not result.ok:
            raise FolderError(self._why(result), result.error_kind or "exit")

    def _remote(self, name: str) -> str:
        return self.path.rstrip("/") + "/" + name

    def _why(self, result: HostResult) -> str:
        detail = result.stderr_tail.strip().splitlines()
        return (result.error or "failed") + (f" ({detail[-1]})" if detail else "")


def remote_folders(
    inventory: Inventory,
    hosts: Sequence[Host],
    path: str,
    *,
    backend: HostBackend | None = None,
) -> list[RemoteFolder]:
    """The folder ``path`` (may use ``{host.*}``) on each host, over SSH unless ``backend``.

    Checks key files and ``{host.*}`` fields first (``BadInput``), contacting no host.
    """
    inventory.preflight(hosts, [path])
    if backend is None:
        backend = RemoteExecutor(inventory)
    return [RemoteFolder(backend, h, bind_for_host(path, h, shell=False)) for h in hosts]


def sync_files(
    folders: Sequence[RemoteFolder],
    source: Path | Iterable[Path | SyncFile],
    *,
    last: Sequence[str] = (),
    prune: Prune = True,
    dry_run: bool = False,
    workers: int = 10,
) -> SyncResult:
    """Make every folder hold exactly the files of ``source`` (a folder or a list of files).

    ``last`` names files to place after all the others, in that order (an index);
    ``prune`` which extra files to delete; ``dry_run`` only reports what would change.
    Hosts run in parallel (at most ``workers`` at once), one connection each. Raises
    ``SyncError`` for unsafe or missing files before any host is contacted.
    """
    files = collect(source)
    unknown = [name for name in last if name not in {f.name for f in files}]
    if unknown:
        raise SyncError(f"last names {', '.join(unknown)}, which are not among the files")

    def one(folder: RemoteFolder) -> HostSync:
        with folder.connected():
            return folder.sync(files, last=last, prune=prune, dry_run=dry_run)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(folders)))) as pool:
        return SyncResult(tuple(pool.map(one, folders)))
