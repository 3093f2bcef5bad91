"""Database backup actions shared by the backup and DR runbooks, for SQLite and PostgreSQL.

Each function names a database by URL (``sqlite:///abs/path.db`` or
``postgresql://user@host:port/db``), picks the engine module, and raises ``DbError``
with a message that never contains a password. ``python -m opsbooks_playbooks.actions.db``
is the same set of actions as a command line, which is what runbook steps call.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opsbooks_playbooks.actions.db import postgres, sqlite
from opsbooks_playbooks.actions.db.manifest import (
    REDACTED,
    DbError,
    DbUsageError,
    Manifest,
    atomic_write,
    backup_name,
    check_file,
    iso,
    newest,
    parse_time,
    prune,
    redact_url,
    resolve,
    sha256_of,
    update_manifest,
    utc_now,
    write_manifest,
)

Clock = Callable[[], dt.datetime]

__all__ = [
    "DbError",
    "DbUsageError",
    "Manifest",
    "age",
    "backup",
    "check",
    "compare",
    "counts",
    "drop",
    "engine_of",
    "latest",
    "recovery_record",
    "recovery_report",
    "redact_url",
    "restore",
    "switch_back",
    "switch_endpoint",
    "undo_restore",
    "verify",
]


def engine_of(url: str) -> str:
    """``sqlite`` or ``postgresql``, from the URL's scheme."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "postgresql"
    raise DbUsageError(
        f"{redact_url(url)}: unsupported database URL; use sqlite:///abs/path.db or "
        f"postgresql://user@host:port/dbname"
    )


def _server_for(manifest: Manifest, servers: Sequence[str]) -> postgres.Target:
    """Where to make scratch databases: the first PostgreSQL URL given, else the source.

    A server URL without a database name means the ``postgres`` database. A password
    starred in the manifest is dropped, so libpq falls back to PGPASSWORD or ~/.pgpass.
    """
    chosen = next((s for s in servers if s and engine_of(s) == "postgresql"), manifest.source)
    if not urlsplit(chosen).path.strip("/"):
        chosen = urlunsplit(urlsplit(chosen)._replace(path="/postgres"))
    target = postgres.parse(chosen)
    if target.password == REDACTED:
        target = dataclasses.replace(target, password=None)
    return target


def backup(
    url: str,
    dest: Path,
    *,
    keep: int | None = None,
    watermark_sql: str | None = None,
    now: Clock = utc_now,
) -> tuple[Path, Manifest, list[Path]]:
    """Back up ``url`` into ``dest``; return the file, its manifest and pruned files."""
    engine = engine_of(url)
    if keep is not None and keep < 1:
        raise DbUsageError(f"--keep must be at least 1, got {keep}")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DbError(f"cannot create backup directory {dest}: {exc.strerror}") from None
    moment = now()
    snap: sqlite.Snapshot | postgres.Snapshot
    if engine == "sqlite":
        path = sqlite.parse(url)
        name, ext = sqlite.database_name(path), sqlite.EXTENSION
    else:
        target = postgres.parse(url)
        name, ext = postgres.database_name(target), postgres.EXTENSION
    final = dest / backup_name(name, moment, ext)
    temp = dest / f".{final.name}.partial"
    done = False
    try:
        if engine == "sqlite":
            snap = sqlite.dump(path, temp, watermark_sql)
        else:
            snap = postgres.dump(target, temp, watermark_sql)
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, final)
        manifest = Manifest(
            engine=engine,
            file=final.name,
            source=redact_url(url),
            database=name,
            created_at=iso(moment),
            sha256=sha256_of(final),
            size=final.stat().st_size,
            tables=snap.tables,
            tool=snap.tool,
            last_write_at=_as_time(snap.watermark),
            watermark=snap.watermark,
            watermark_sql=watermark_sql,
            extra={"journal_mode": snap.journal_mode} if snap.journal_mode else {},
        )
        write_manifest(final, manifest)
        done = True
    except OSError as exc:
        raise DbError(
            f"writing the backup into {dest} failed ({exc.strerror}); no backup was recorded"
        ) from None
    finally:
        temp.unlink(missing_ok=True)
        if not done:
            final.unlink(missing_ok=True)
    pruned = prune(dest, manifest.source, keep) if keep else []
    return final, manifest, pruned


def _as_time(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return iso(parse_time(value))
    except ValueError:
        return None


def _scratch_counts(path: Path, manifest: Manifest, servers: Sequence[str]) -> dict[str, int]:
    if manifest.engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="opsbooks-verify-") as scratch:
            return sqlite.scratch_counts(path, Path(scratch))
    if manifest.engine == "postgresql":
        return postgres.scratch_counts(path, _server_for(manifest, servers))
    raise DbError(f"manifest of {path} names unknown engine {manifest.engine!r}")


def _differences(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    problems = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want != got:
            problems.append(
                f"{table}: "
                + ("missing" if got is None else f"{got} rows")
                + ("" if want is None else f", manifest says {want}")
            )
    return problems


def verify(
    backup_path: Path,
    *,
    servers: Sequence[str] = (),
    now: Clock = utc_now,
) -> tuple[Path, Manifest]:
    """Check the checksum, restore into scratch, check integrity, compare row counts.

    A success records ``verified_at``; a failure records ``verify_error`` so
    ``latest --verified-only`` skips the backup until it verifies again.
    PostgreSQL scratch databases go on the first PostgreSQL URL of ``servers``.
    """
    path, manifest = resolve(backup_path)
    try:
        check_file(path, manifest)
        found = _scratch_counts(path, manifest, servers)
        problems = _differences(manifest.tables, found)
        if problems:
            raise DbError(
                f"backup {path} restores with different row counts: {'; '.join(problems[:5])}"
            )
    except DbError as exc:
        _record(path, verify_error=str(exc))
        raise
    return path, _record(path, verified_at=iso(now()), verify_error=None) or manifest


def _record(path: Path, **changes: Any) -> Manifest | None:
    try:
        return update_manifest(path, **changes)
    except (DbError, OSError):
        return None


def restore(
    backup_path: Path,
    url: str,
    *,
    force: bool = False,
    verified_only: bool = False,
    no_owner: bool = False,
) -> tuple[str, Path, Manifest]:
    """Restore a backup (or the newest in a directory) into ``url`` after checking it."""
    engine = engine_of(url)
    path, manifest = resolve(backup_path, verified_only=verified_only)
    if manifest.engine != engine:
        raise DbUsageError(f"{path} is a {manifest.engine} backup; it cannot go into {engine}")
    check_file(path, manifest)
    if engine == "sqlite":
        mode = str(manifest.extra.get("journal_mode", "delete"))
        message = sqlite.restore(path, sqlite.parse(url), force=force, journal_mode=mode)
    else:
        message = postgres.restore(path, postgres.parse(url), force=force, no_owner=no_owner)
    return message, path, manifest


def undo_restore(url: str) -> str:
    """Put back what the last restore replaced."""
    if engine_of(url) == "sqlite":
        return sqlite.undo_restore(sqlite.parse(url))
    return postgres.undo_restore(postgres.parse(url))


def check(url: str) -> str:
    """Fail unless the database is reachable and sound; return a one-line summary."""
    if engine_of(url) == "sqlite":
        return sqlite.check(sqlite.parse(url))
    return postgres.check(postgres.parse(url))


def counts(url: str) -> dict[str, int]:
    """Row count of every user table."""
    if engine_of(url) == "sqlite":
        return sqlite.counts(sqlite.parse(url))
    return postgres.counts(postgres.parse(url))


def compare(url: str, backup_path: Path, *, verified_only: bool = False) -> str:
    """Fail unless the database is sound and holds exactly the rows the backup recorded."""
    path, manifest = resolve(backup_path, verified_only=verified_only)
    check(url)
    problems = _differences(manifest.tables, counts(url))
    if problems:
        raise DbError(
            f"{redact_url(url)} does not match backup {path.name}: {'; '.join(problems[:5])}"
        )
    total = sum(manifest.tables.values())
    return f"{redact_url(url)} matches {path.name}: {len(manifest.tables)} tables, {total} rows"


def drop(url: str) -> str:
    """Delete a (scratch) database and its pre-restore copy."""
    if engine_of(url) == "sqlite":
        return sqlite.drop(sqlite.parse(url))
    return postgres.drop(postgres.parse(url))


def latest(dest: Path, *, verified_only: bool = False) -> tuple[Path, Manifest]:
    """The newest backup in ``dest``."""
    return newest(dest, verified_only=verified_only)


def age(backup_path: Path, *, verified_only: bool = False, now: Clock = utc_now) -> float:
    """Seconds since the backup was taken."""
    _, manifest = resolve(backup_path, verified_only=verified_only)
    return (now() - manifest.created).total_seconds()


def recovery_record(
    backup_path: Path,
    *,
    verified_only: bool = False,
    last_write_at: str | None = None,
    now: Clock = utc_now,
) -> dict[str, Any]:
    """What a recovery restores: the backup, its recovery point, and the RPO it implies.

    The recovery point is the backup's newest data (``last_write_at`` from the
    watermark query, else ``created_at``). The RPO is the data-loss window: from the
    recovery point to the lost database's last write when that is known, else to now
    (an upper bound, and exactly the exposure a drill wants to know).
    """
    path, manifest = resolve(backup_path, verified_only=verified_only)
    point = manifest.recovery_point
    try:
        reference = parse_time(last_write_at) if last_write_at else now()
    except ValueError:
        raise DbUsageError(f"last write time {last_write_at!r} is not an ISO 8601 time") from None
    return {
        "backup": str(path),
        "created_at": manifest.created_at,
        "last_write_at": manifest.last_write_at,
        "recovery_point": iso(point),
        "rpo_seconds": round(max(0.0, (reference - point).total_seconds()), 3),
        "rpo_measured_to": "last write" if last_write_at else "now",
        "tables": manifest.tables,
    }


def recovery_report(record: dict[str, Any]) -> str:
    """The record as JSON plus the ``::metric rpo_seconds=`` line the runner collects."""
    return json.dumps(record, sort_keys=True) + f"\n::metric rpo_seconds={record['rpo_seconds']}"


def switch_endpoint(config: Path, url: str, *, key: str | None = None) -> str:
    """Point a service's config file at ``url`` atomically, keeping the old file for undo.

    With ``key`` the file is ``KEY=value`` lines and only that line changes;
    without, the whole file is the URL. The file is written mode 0600.
    """
    engine_of(url)
    old = config.read_text() if config.exists() else ""
    previous = config.with_name(config.name + ".previous")
    atomic_write(previous, old.encode(), mode=0o600)
    if key:
        lines = old.splitlines()
        line = f"{key}={url}"
        at = next((i for i, x in enumerate(lines) if x.startswith(f"{key}=")), None)
        lines = [*lines, line] if at is None else [*lines[:at], line, *lines[at + 1 :]]
        text = "\n".join(lines) + "\n"
    else:
        text = url + "\n"
    atomic_write(config, text.encode(), mode=0o600)
    return f"{config} now points at {redact_url(url)}"


def switch_back(config: Path) -> str:
    """Undo ``switch_endpoint``: put the previous file back."""
    previous = config.with_name(config.name + ".previous")
    if not previous.exists():
        raise DbError(f"no {previous.name} beside {config}; nothing to switch back to")
    atomic_write(config, previous.read_bytes(), mode=0o600)
    previous.unlink()
    return f"{config} switched back to its previous endpoint"
