"""What a backup is on disk: the file, its manifest beside it, and the generations in a folder.

A backup counts only once its manifest exists: the data file is written under a
temporary name, renamed, and the manifest written last (atomically), so a crash,
a full disk or a denied write never leaves a partial backup that looks valid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opsbooks.errors import BadInput, OpsbooksError

FORMAT = "opsbooks-backup"
VERSION = 1
SUFFIX = ".manifest.json"
REDACTED = "*****"


class DbError(OpsbooksError):
    """A database action failed; the message names what and says what to do next."""


class DbUsageError(DbError, BadInput):
    """The action was asked for something impossible (bad URL, wrong engine); exit 2."""


def utc_now() -> dt.datetime:
    """The default clock: aware UTC now."""
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """Write an aware time as ISO 8601 UTC with a ``Z``."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> dt.datetime:
    """Read an ISO 8601 time; a naive one is taken as UTC."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def redact_url(url: str) -> str:
    """Replace the password of a database URL (userinfo or ``password=`` query) with stars."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", rf"\1{REDACTED}@", url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not password and not any(k.lower() == "password" for k, _ in pairs):
        return url
    netloc = parts.netloc
    if password:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:{REDACTED}@{hostport}"
    query = urlencode(
        [(k, REDACTED if k.lower() == "password" else v) for k, v in pairs], safe="/*"
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class Manifest:
    """The record written beside every backup file (JSON, format version 1)."""

    engine: str
    file: str
    source: str
    database: str
    created_at: str
    sha256: str
    size: int
    tables: dict[str, int]
    tool: str = ""
    last_write_at: str | None = None
    watermark: str | None = None
    watermark_sql: str | None = None
    verified_at: str | None = None
    verify_error: str | None = None
    format: str = FORMAT
    version: int = VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """Verified, and the latest verification did not fail."""
        return bool(self.verified_at) and not self.verify_error

    @property
    def created(self) -> dt.datetime:
        return parse_time(self.created_at)

    @property
    def recovery_point(self) -> dt.datetime:
        """The newest data the backup is known to hold: last write if known, else creation."""
        return parse_time(self.last_write_at) if self.last_write_at else self.created

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: Path) -> Manifest:
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, not {FORMAT!r}")
            if int(data.get("version", 0)) > VERSION:
                raise ValueError(f"version {data['version']} is newer than this tool's {VERSION}")
            known = set(cls.__dataclass_fields__)
            return cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError) as exc:
            raise DbError(
                f"manifest {where} is unreadable ({exc}); treat the backup as bad"
            ) from None


def manifest_path(backup: Path) -> Path:
    """The manifest that belongs to ``backup``."""
    return backup.with_name(backup.name + SUFFIX)


def read_manifest(backup: Path) -> Manifest:
    """Load the manifest beside ``backup``; a missing one means an incomplete backup."""
    path = manifest_path(backup)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DbError(
            f"{backup} has no manifest ({path.name}); it is not a complete backup, do not use it"
        ) from None
    except OSError as exc:
        raise DbError(f"cannot read manifest {path}: {exc.strerror}") from None
    return Manifest.from_json(text, path)


def write_manifest(backup: Path, manifest: Manifest) -> None:
    atomic_write(manifest_path(backup), manifest.to_json().encode())


def update_manifest(backup: Path, **changes: Any) -> Manifest:
    """Rewrite some fields of ``backup``'s manifest atomically; return the new record."""
    updated = replace(read_manifest(backup), **changes)
    write_manifest(backup, updated)
    return updated


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(backup: Path, manifest: Manifest) -> None:
    """Fail unless ``backup`` has exactly the size and sha256 its manifest records."""
    try:
        size = backup.stat().st_size
    except FileNotFoundError:
        raise DbError(f"backup file {backup} is missing; its manifest remains") from None
    if size != manifest.size:
        raise DbError(
            f"backup {backup} is {size} bytes but its manifest says {manifest.size}: "
            f"truncated or changed after the backup; do not restore from it"
        )
    actual = sha256_of(backup)
    if actual != manifest.sha256:
        raise DbError(
            f"backup {backup} checksum mismatch: sha256 {actual[:12]}... but manifest says "
            f"{manifest.sha256[:12]}...; the file changed after the backup, do not restore from it"
        )


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename over it."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def generations(dest: Path) -> list[tuple[Path, Manifest]]:
    """Complete backups in ``dest`` (a manifest and its file), oldest first."""
    if not dest.is_dir():
        raise DbError(f"backup directory {dest} does not exist")
    found = []
    for path in dest.glob(f"*{SUFFIX}"):
        backup = path.with_name(path.name[: -len(SUFFIX)])
        try:
            manifest = Manifest.from_json(path.read_text(), path)
        except (DbError, OSError):
            continue
        if backup.exists():
            found.append((backup, manifest))
    return sorted(found, key=lambda item: (item[1].created, item[0].name))


def newest(dest: Path, *, verified_only: bool = False) -> tuple[Path, Manifest]:
    """The newest backup in ``dest`` (only verified ones when asked)."""
    candidates = [
        (path, manifest)
        for path, manifest in generations(dest)
        if manifest.verified or not verified_only
    ]
    if not candidates:
        what = "verified backup" if verified_only else "backup"
        hint = "; run verify on one first" if verified_only else ""
        raise DbError(f"no {what} in {dest}{hint}")
    return candidates[-1]


def resolve(path: Path, *, verified_only: bool = False) -> tuple[Path, Manifest]:
    """A backup file as given, or the newest one when ``path`` is a directory."""
    if path.is_dir():
        return newest(path, verified_only=verified_only)
    manifest = read_manifest(path)
    if verified_only and not manifest.verified:
        raise DbError(f"backup {path} is not verified; run verify on it first")
    return path, manifest


def prune(dest: Path, source: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of ``source`` in ``dest``; return deleted."""
    if keep < 1:
        raise DbUsageError(f"--keep must be at least 1, got {keep}")
    mine = [(p, m) for p, m in generations(dest) if m.source == source]
    doomed = [path for path, _ in mine[:-keep]]
    for backup in doomed:
        manifest_path(backup).unlink(missing_ok=True)
        backup.unlink(missing_ok=True)
    return doomed


def backup_name(database: str, moment: dt.datetime, extension: str) -> str:
    """``<database>-<UTC timestamp>.<extension>``: sorts by time, safe as a file name."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", database).strip("._") or "db"
    return f"{stem}-{moment.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}.{extension}"
