"""SQLite table recovery: the backup file copied to a scratch file, diff, copy back.

The scratch copy is attached to the live database (``ATTACH``), so the diff and the
copy-back are plain SQL in one transaction. The safety copy is a new SQLite file
holding the live table's rows; its undo replaces the table's rows with them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from opsbooks_playbooks.actions.db.manifest import DbError, atomic_write
from opsbooks_playbooks.actions.maintenance.lite import connect
from opsbooks_playbooks.actions.maintenance.recover_pg import SHOWN_KEYS


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def restore_table(backup: Path, scratch: Path, table: str) -> str:
    """Copy the backup file to ``scratch`` and check the table is in it."""
    scratch.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(backup, scratch)
    scratch.chmod(0o600)  # a copy of the data: readable by its owner only
    columns(scratch, table)
    return f"copied {backup.name} to scratch file {scratch}"


def drop_scratch(scratch: Path) -> str:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return f"removed scratch file {scratch}"


def columns(path: Path, table: str, schema: str = "main") -> list[str]:
    with connect(path) as conn:
        return _columns(conn, table, schema)


def _columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    found = [str(r[1]) for r in conn.execute(f"PRAGMA {schema}.table_info({q(table)})")]
    if not found:
        raise DbError(f"no table {table} in the {schema} database")
    return found


def figures(path: Path, table: str, sample_sql: str) -> dict[str, Any]:
    """Row count, a sha256 over the rows (in key order) and the sample query's answer."""
    with connect(path) as conn:
        _columns(conn, table)
        digest = hashlib.sha256()
        count = 0
        for row in conn.execute(f"SELECT * FROM {q(table)} ORDER BY 1"):
            digest.update(repr(tuple(row)).encode() + b"\n")
            count += 1
        found: dict[str, Any] = {"rows": count, "checksum": digest.hexdigest()}
        if sample_sql:
            conn.execute("PRAGMA query_only = ON")
            rows = conn.execute(sample_sql).fetchall()
            found["sample"] = "\n".join("|".join(str(v) for v in r) for r in rows)
    return found


def _sql(table: str, key: str, cols: list[str]) -> dict[str, str]:
    t, k = f"main.{q(table)}", q(key)
    r = f"r.{q(table)}"
    same = " AND ".join(f"x.{q(c)} IS y.{q(c)}" for c in cols)
    sets = ", ".join(f"{q(c)} = y.{q(c)}" for c in cols if c != key)
    new = f"SELECT {k} FROM {r} WHERE {k} NOT IN (SELECT {k} FROM {t})"
    return {
        "keys_insert": f"{new} ORDER BY 1 LIMIT {SHOWN_KEYS}",
        "keys_update": f"SELECT x.{k} FROM {t} AS x JOIN {r} AS y ON x.{k} = y.{k} "
        f"WHERE NOT ({same}) ORDER BY 1 LIMIT {SHOWN_KEYS}",
        "keys_delete": f"SELECT {k} FROM {t} WHERE {k} NOT IN (SELECT {k} FROM {r}) "
        f"ORDER BY 1 LIMIT {SHOWN_KEYS}",
        "count_insert": f"SELECT count(*) FROM {r} WHERE {k} NOT IN (SELECT {k} FROM {t})",
        "count_update": f"SELECT count(*) FROM {t} AS x JOIN {r} AS y ON x.{k} = y.{k} "
        f"WHERE NOT ({same})",
        "count_delete": f"SELECT count(*) FROM {t} WHERE {k} NOT IN (SELECT {k} FROM {r})",
        "insert": f"INSERT INTO {t} SELECT * FROM {r} WHERE {k} NOT IN (SELECT {k} FROM {t})",
        "update": f"UPDATE {t} AS x SET {sets} FROM {r} AS y WHERE x.{k} = y.{k} AND NOT ({same})"
        if sets
        else "",
        "delete": f"DELETE FROM {t} WHERE {k} NOT IN (SELECT {k} FROM {r})",
    }


def _attached(conn: sqlite3.Connection, scratch: Path, table: str, key: str) -> dict[str, str]:
    conn.execute("ATTACH DATABASE ? AS r", (f"file:{scratch}?mode=ro",))
    cols = _columns(conn, table)
    if _columns(conn, table, "r") != cols:
        raise DbError(
            f"{table} has other columns now than in the backup; the copy-back needs the "
            "same columns in the same order"
        )
    if key not in cols:
        raise DbError(f"key column {key!r} is not a column of {table}; columns: {', '.join(cols)}")
    return _sql(table, key, cols)


def diff(live: Path, scratch: Path, table: str, key: str) -> dict[str, Any]:
    """Counts of rows to insert, update, delete, and the first keys of each (``*_keys``)."""
    found: dict[str, Any] = {}
    with connect(live) as conn:
        sql = _attached(conn, scratch, table, key)
        for name in ("insert", "update", "delete"):
            found[name] = int(conn.execute(sql[f"count_{name}"]).fetchone()[0])
            keys = conn.execute(sql[f"keys_{name}"]).fetchall()
            found[f"{name}_keys"] = [str(row[0]) for row in keys]
    return found


def copy_back(live: Path, scratch: Path, table: str, key: str, *, replace: bool) -> str:
    with connect(live) as conn:
        sql = _attached(conn, scratch, table, key)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name in ("insert", "update", *(("delete",) if replace else ())):
                if sql[name]:
                    conn.execute(sql[name])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return f"copied {table} back from {scratch.name}"


def safety_dump(live: Path, table: str, out: Path, sample_sql: str = "") -> str:
    """Save the live table's rows into the SQLite file ``out`` (figures beside it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    drop_scratch(out)
    with connect(live) as conn:
        _columns(conn, table)
        conn.execute("ATTACH DATABASE ? AS s", (str(out),))
        conn.execute(f"CREATE TABLE s.{q(table)} AS SELECT * FROM main.{q(table)}")
        conn.execute("DETACH DATABASE s")
    out.chmod(0o600)
    record = figures(live, table, sample_sql)
    atomic_write(out.with_name(out.name + ".json"), json.dumps(record).encode(), mode=0o600)
    return f"safety copy of {table} ({record['rows']} rows) in {out}"


def undo_copy_back(live: Path, table: str, dump: Path) -> str:
    if not dump.is_file():
        raise DbError(f"no safety copy {dump}; the copy-back cannot be undone automatically")
    with connect(live) as conn:
        conn.execute("ATTACH DATABASE ? AS s", (f"file:{dump}?mode=ro",))
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"DELETE FROM main.{q(table)}")
            conn.execute(f"INSERT INTO main.{q(table)} SELECT * FROM s.{q(table)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    expected = json.loads(dump.with_name(dump.name + ".json").read_text())
    if figures(live, table, "")["checksum"] != expected["checksum"]:
        raise DbError(f"{table} after the undo does not match the safety copy {dump}")
    return f"{table} is back as it was before the copy-back ({expected['rows']} rows)"
