"""SQLite: online backup, integrity check, counts and atomic restore of a database file.

The backup is made with SQLite's online backup API, so writers may keep writing;
the copy is switched to rollback-journal mode so it is one self-contained file
whose checksum never changes. Restore writes a temporary file beside the target
and renames it over the target, keeping the old file as ``<db>.pre-restore``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError, fsync_dir

EXTENSION = "sqlite"
SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Snapshot:
    """What a dump saw: row counts per table and the watermark query's answer."""

    tables: dict[str, int]
    watermark: str | None
    tool: str
    journal_mode: str


def parse(url: str) -> Path:
    """Read ``sqlite:///abs/path.db`` (or ``sqlite:rel.db``, relative to the cwd)."""
    parts = urlsplit(url)
    if parts.netloc:
        raise DbUsageError(f"{url}: a sqlite URL has no host; write sqlite:///abs/path.db")
    path = unquote(parts.path)
    if not path:
        raise DbUsageError(f"{url}: no file path; write sqlite:///abs/path.db")
    if path.startswith("/"):
        path = "/" + path.lstrip("/")
    return Path(path).absolute()


def database_name(path: Path) -> str:
    return path.stem


@contextlib.contextmanager
def _open(path: Path, *, readonly: bool) -> Iterator[sqlite3.Connection]:
    """Open ``path`` without ever creating it, translating SQLite's errors."""
    if not path.exists():
        raise DbError(f"database file {path} does not exist")
    mode = "ro" if readonly else "rw"
    try:
        conn = sqlite3.connect(f"file:{_uri_path(path)}?mode={mode}", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise DbError(f"cannot open {path}: {exc}") from None
    try:
        yield conn
    except sqlite3.DatabaseError as exc:
        raise DbError(f"{path} is damaged or not a SQLite database: {exc}") from None
    finally:
        conn.close()


def _uri_path(path: Path) -> str:
    return str(path).replace("?", "%3f").replace("#", "%23")


def tables(conn: sqlite3.Connection) -> dict[str, int]:
    """Row count of every user table."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    return {
        name: int(conn.execute(f"SELECT count(*) FROM {_ident(name)}").fetchone()[0])
        for name in names
    }


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def integrity(conn: sqlite3.Connection, where: Path) -> None:
    """Fail unless ``PRAGMA integrity_check`` says ``ok``."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(20)")]
    if rows != ["ok"]:
        raise DbError(f"integrity check of {where} failed: {'; '.join(rows[:3])}")


def dump(source: Path, out: Path, watermark_sql: str | None) -> Snapshot:
    """Copy ``source`` to ``out`` with the online backup API; count rows in the copy."""
    with _open(source, readonly=True) as src:
        journal_mode = str(src.execute("PRAGMA journal_mode").fetchone()[0])
        try:
            dst = sqlite3.connect(out)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
        except sqlite3.Error as exc:
            raise DbError(f"copying {source} into {out.parent} failed: {exc}") from None
    with _open(out, readonly=True) as copy:
        counts = tables(copy)
        watermark = _scalar(copy, watermark_sql) if watermark_sql else None
    return Snapshot(counts, watermark, f"sqlite {sqlite3.sqlite_version}", journal_mode)


def _scalar(conn: sqlite3.Connection, sql: str) -> str | None:
    try:
        row = conn.execute(sql).fetchone()
    except sqlite3.Error as exc:
        raise DbError(f"watermark query failed: {exc}") from None
    return None if row is None or row[0] is None else str(row[0])


def check(path: Path) -> str:
    """Open the file read-only and run the integrity check; return a one-line summary."""
    with _open(path, readonly=True) as conn:
        integrity(conn, path)
        count = len(tables(conn))
    return f"{path}: integrity ok, {count} table(s)"


def counts(path: Path) -> dict[str, int]:
    with _open(path, readonly=True) as conn:
        return tables(conn)


def scratch_counts(backup: Path, scratch_dir: Path) -> dict[str, int]:
    """Restore ``backup`` into a scratch file, check its integrity, count its rows."""
    scratch = scratch_dir / "scratch.db"
    _materialize(backup, scratch, journal_mode="delete")
    with _open(scratch, readonly=True) as conn:
        integrity(conn, backup)
        return tables(conn)


def _materialize(backup: Path, out: Path, *, journal_mode: str) -> None:
    """Rebuild ``out`` from ``backup`` page by page, then make it durable."""
    out.unlink(missing_ok=True)
    with _open(backup, readonly=True) as src:
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
            integrity(dst, backup)
            if journal_mode.lower() not in ("delete", "memory", "off"):
                dst.execute(f"PRAGMA journal_mode={journal_mode}")
        except sqlite3.DatabaseError as exc:
            raise DbError(f"{backup} is not a restorable SQLite database: {exc}") from None
        finally:
            dst.close()
    with out.open("rb+") as handle:
        os.fsync(handle.fileno())


def pre_restore_path(path: Path) -> Path:
    return path.with_name(path.name + ".pre-restore")


def created_marker(path: Path) -> Path:
    """Beside a database a restore created: its undo removes it, as nothing was there."""
    return path.with_name(path.name + ".restored-new")


def restore(backup: Path, target: Path, *, force: bool, journal_mode: str) -> str:
    """Replace ``target`` with ``backup`` atomically; keep the old file as ``.pre-restore``."""
    if target.exists() and not force:
        raise DbUsageError(
            f"{target} exists; pass --force to replace it (the old file is kept as "
            f"{pre_restore_path(target).name})"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.restoring")
    try:
        _materialize(backup, temp, journal_mode=journal_mode)
        kept = _keep_previous(target)
        marker = created_marker(target)
        if kept is None:
            marker.write_text(f"{backup.name}\n")
        else:
            marker.unlink(missing_ok=True)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
        for suffix in SIDE_FILES:
            Path(f"{temp}{suffix}").unlink(missing_ok=True)
    fsync_dir(target.parent)
    note = f"; previous file kept as {kept}" if kept else ""
    return f"restored {backup.name} into {target}{note}"


def _keep_previous(target: Path) -> Path | None:
    """Hard-link the live file (and move its WAL) to ``.pre-restore`` before the swap."""
    if not target.exists():
        return None
    pre = pre_restore_path(target)
    _remove_with_sides(pre)
    try:
        os.link(target, pre)
    except OSError:
        shutil.copy2(target, pre)
    wal = Path(f"{target}-wal")
    if wal.exists():
        os.replace(wal, Path(f"{pre}-wal"))
    for suffix in ("-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    return pre


def undo_restore(target: Path) -> str:
    """Put ``target`` back as it was before the restore.

    With a ``.pre-restore`` copy, put it back. Without one, a file the restore created
    (marked ``.restored-new``) is removed, as nothing was there before; anything else
    is left alone, so a rollback never fails for it.
    """
    pre = pre_restore_path(target)
    marker = created_marker(target)
    if not pre.exists():
        if marker.exists():
            _remove_with_sides(target)
            marker.unlink()
            fsync_dir(target.parent)
            return f"removed {target}: the restore created it and nothing was there before"
        return f"no {pre.name} beside {target}: the restore replaced nothing; left as is"
    marker.unlink(missing_ok=True)
    for suffix in SIDE_FILES:
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(pre, target)
    if Path(f"{pre}-wal").exists():
        os.replace(Path(f"{pre}-wal"), Path(f"{target}-wal"))
    Path(f"{pre}-shm").unlink(missing_ok=True)
    fsync_dir(target.parent)
    return f"put {pre.name} back as {target}"


def drop(target: Path) -> str:
    """Delete the database file, its side files and its ``.pre-restore`` copy."""
    _remove_with_sides(target)
    _remove_with_sides(pre_restore_path(target))
    created_marker(target).unlink(missing_ok=True)
    return f"removed {target}"


def _remove_with_sides(path: Path) -> None:
    path.unlink(missing_ok=True)
    for suffix in SIDE_FILES:
        Path(f"{path}{suffix}").unlink(missing_ok=True)
