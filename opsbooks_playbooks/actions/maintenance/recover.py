"""Recover one table from a backup: pick the backup, restore it to scratch, diff, copy back.

A ``Job`` names the live database, the PostgreSQL server for the scratch database
(empty: the live one's), the table, the working directory (scratch SQLite copies
and safety dumps) and the run, so each action finds the files the earlier ones made:
scratch ``opsbooks_recover_<run>`` (PostgreSQL) or ``<work>/<run>-<table>.scratch.db``
(SQLite); safety dump ``<work>/<run>-<table>.safety.<pgdump|db>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from opsbooks_playbooks.actions import db
from opsbooks_playbooks.actions.db import postgres, sqlite
from opsbooks_playbooks.actions.db.manifest import (
    DbError,
    DbUsageError,
    Manifest,
    check_file,
    generations,
    iso,
    parse_time,
    read_manifest,
)
from opsbooks_playbooks.actions.maintenance import recover_lite, recover_pg, table_name


@dataclass(frozen=True)
class Job:
    """One table recovery, as every action of it sees it."""

    db: str
    table: str
    work: Path
    run: str
    server: str = ""
    key: str = "id"

    def __post_init__(self) -> None:
        table_name(self.table)
        if not re.fullmatch(r"[A-Za-z0-9_-]+", self.run):
            raise DbUsageError(f"run id {self.run!r} may hold only letters, digits, _ and -")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", self.key):
            raise DbUsageError(f"key column {self.key!r}: give a lower-case column name")

    @property
    def engine(self) -> str:
        return db.engine_of(self.db)

    @property
    def stem(self) -> str:
        return f"{self.run}-{self.table}"

    @property
    def scratch_name(self) -> str:
        return f"opsbooks_recover_{self.run.replace('-', '_').lower()}"[:63]

    @property
    def scratch_file(self) -> Path:
        return self.work.absolute() / f"{self.stem}.scratch.db"

    @property
    def safety(self) -> Path:
        ext = "pgdump" if self.engine == "postgresql" else "db"
        return self.work.absolute() / f"{self.stem}.safety.{ext}"

    def live(self) -> postgres.Target:
        return postgres.parse(self.db)

    def server_target(self) -> postgres.Target:
        chosen = self.server or self.db
        parts = urlsplit(chosen)
        if db.engine_of(chosen) != "postgresql":
            raise DbUsageError("the scratch server must be a postgresql:// URL")
        return postgres.parse(urlunsplit(parts._replace(path="/postgres")))

    def scratch(self) -> postgres.Target:
        return self.server_target().on(self.scratch_name)


def pick(backup: Path, before: str = "") -> tuple[Path, Manifest]:
    """The backup file given, or the newest verified one in a directory taken by ``before``."""
    if not backup.is_dir():
        manifest = read_manifest(backup)
        if not manifest.verified:
            raise DbError(f"backup {backup} is not verified; run backup.verify on it first")
        return backup, manifest
    try:
        limit = parse_time(before) if before else None
    except ValueError:
        raise DbUsageError(f"point in time {before!r} is not an ISO 8601 time") from None
    found = [
        (path, m)
        for path, m in generations(backup)
        if m.verified and (limit is None or m.created <= limit)
    ]
    if not found:
        when = f" taken at or before {before}" if before else ""
        raise DbError(
            f"no verified backup in {backup}{when}; run backup.verify, or pick a later time"
        )
    return found[-1]


def pick_report(backup: Path, before: str, table: str) -> str:
    """The chosen backup as ``::output`` lines, with its row count for the table."""
    path, manifest = pick(backup, before)
    table_name(table)
    key = table if manifest.engine == "sqlite" else (table if "." in table else f"public.{table}")
    if key not in manifest.tables:
        raise DbError(
            f"backup {path.name} has no table {key}; it has {', '.join(sorted(manifest.tables))}"
        )
    return "\n".join(
        [
            f"backup {path} taken {manifest.created_at} ({manifest.tables[key]} rows in {key})",
            f"::output backup_file={path}",
            f"::output backup_taken={iso(manifest.created)}",
            f"::output backup_rows={manifest.tables[key]}",
        ]
    )


def restore_scratch(job: Job, backup: Path) -> str:
    """Check the backup's checksum, then restore only the table into the scratch copy."""
    _, manifest = pick(backup)
    if manifest.engine != job.engine:
        raise DbUsageError(f"{backup} is a {manifest.engine} backup; the target is {job.engine}")
    check_file(backup, manifest)
    if job.engine == "sqlite":
        return recover_lite.restore_table(backup, job.scratch_file, job.table)
    return recover_pg.restore_table(backup, job.server_target(), job.scratch_name, job.table)


def drop_scratch(job: Job) -> str:
    if job.engine == "sqlite":
        return recover_lite.drop_scratch(job.scratch_file)
    return recover_pg.drop_scratch(job.server_target(), job.scratch_name)


def scratch_figures(job: Job, sample_sql: str, expect_rows: int | None) -> str:
    """Count, checksum and sample of the restored rows; fail if the count is not the backup's."""
    if job.engine == "sqlite":
        found = recover_lite.figures(job.scratch_file, job.table, sample_sql)
    else:
        found = recover_pg.figures(job.scratch(), job.table, sample_sql)
    if expect_rows is not None and found["rows"] != expect_rows:
        raise DbError(
            f"the scratch copy of {job.table} holds {found['rows']} rows; the backup's manifest "
            f"says {expect_rows}: the restore is incomplete, do not copy it back"
        )
    return _figures_text("restored", found)


def _figures_text(label: str, found: dict[str, Any]) -> str:
    lines = [f"{label} rows: {found['rows']}", f"{label} checksum: {found['checksum']}"]
    if "sample" in found:
        lines += ["sample query answer:", found["sample"] or "(no rows)"]
    lines.append(f"::metric {label}_rows={found['rows']}")
    return "\n".join(lines)


def diff(job: Job) -> dict[str, Any]:
    if job.engine == "sqlite":
        return recover_lite.diff(sqlite.parse(job.db), job.scratch_file, job.table, job.key)
    return recover_pg.diff(job.live(), job.scratch(), job.table, job.key)


def diff_report(job: Job, mode: str) -> str:
    found = diff(job)
    delete = found["delete"] if mode == "replace" else 0
    kept = "" if mode == "replace" else f"; {found['delete']} rows not in the backup are kept"
    lines = [
        f"copy-back of {job.table} ({mode}): {found['insert']} rows to insert, "
        f"{found['update']} to update, {delete} to delete{kept}"
    ]
    for kind in ("insert", "update", *(("delete",) if mode == "replace" else ())):
        if found[kind]:
            more = " ..." if found[kind] > len(found[f"{kind}_keys"]) else ""
            lines.append(f"  {job.key} to {kind}: {', '.join(found[f'{kind}_keys'])}{more}")
    lines += [
        f"::output to_insert={found['insert']}",
        f"::output to_update={found['update']}",
        f"::output to_delete={delete}",
    ]
    return "\n".join(lines)


def safety_dump(job: Job) -> str:
    if job.engine == "sqlite":
        return recover_lite.safety_dump(sqlite.parse(job.db), job.table, job.safety)
    return recover_pg.safety_dump(job.live(), job.table, job.safety)


def copy_back(job: Job, mode: str) -> str:
    """Take the safety dump of the live table, then apply the backup's rows to it.

    A re-run (resume) keeps the first safety dump: it holds the state before any copy.
    """
    replace = mode == "replace"
    said = [] if job.safety.is_file() else [safety_dump(job)]
    if job.engine == "sqlite":
        done = recover_lite.copy_back(
            sqlite.parse(job.db), job.scratch_file, job.table, job.key, replace=replace
        )
    else:
        done = recover_pg.copy_back(job.live(), job.scratch(), job.table, job.key, replace=replace)
    return "\n".join([*said, done])


def check_copied(job: Job, mode: str) -> str:
    """Fail unless the live table now holds every backup row (and only them, ``replace``)."""
    found = diff(job)
    left = found["insert"] + found["update"] + (found["delete"] if mode == "replace" else 0)
    if left:
        raise DbError(
            f"{job.table} still differs from the backup after the copy-back: {found}; a "
            "writer may have changed it meanwhile"
        )
    return f"{job.table} holds every row of the backup ({mode} mode)"


def undo_copy_back(job: Job) -> str:
    if job.engine == "sqlite":
        return recover_lite.undo_copy_back(sqlite.parse(job.db), job.table, job.safety)
    return recover_pg.undo_copy_back(job.live(), job.table, job.safety)
