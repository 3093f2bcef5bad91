"""PostgreSQL table recovery: ``pg_restore -t`` into a scratch database, diff, copy back.

The scratch table's rows travel to the live database with ``COPY ... TO STDOUT`` /
``COPY ... FROM STDIN`` into a temporary table, inside the transaction that counts
(``diff``) or applies (``copy_back``) the change, so a copy-back is all or nothing.
The safety dump is ``pg_dump -Fc --data-only -t TABLE``; its undo deletes the
table's rows and loads the dump back in one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from opsbooks_playbooks.actions.db.manifest import DbError, atomic_write
from opsbooks_playbooks.actions.db.postgres import Target, ident, literal, psql
from opsbooks_playbooks.actions.maintenance import pg

TEMP = "opsbooks_recovered"
#: How many keys of each kind of change the diff lists for the person to check.
SHOWN_KEYS = 20


def restore_table(backup: Path, server: Target, scratch: str, table: str) -> str:
    """Create database ``scratch`` on ``server`` and restore only ``table`` into it."""
    schema, name = pg.qualified(table).split(".", 1)
    psql(server, f"DROP DATABASE IF EXISTS {ident(scratch)} WITH (FORCE)", dbname="postgres")
    psql(server, f"CREATE DATABASE {ident(scratch)}", dbname="postgres", what="create scratch")
    target = server.on(scratch)
    psql(target, f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}", what="create schema")
    argv = ["pg_restore", "--exit-on-error", "--no-owner", "--no-privileges"]
    argv += ["-n", schema, "-t", name, "-d", target.conninfo(), str(backup)]
    pg.tool(argv, target, what=f"pg_restore -t {table} of {backup.name}")
    return f"restored {pg.qualified(table)} from {backup.name} into scratch database {scratch}"


def drop_scratch(server: Target, scratch: str) -> str:
    psql(server, f"DROP DATABASE IF EXISTS {ident(scratch)} WITH (FORCE)", dbname="postgres")
    return f"dropped scratch database {scratch} on {server.shown}"


def columns(target: Target, table: str) -> list[str]:
    schema, name = pg.qualified(table).split(".", 1)
    raw = psql(
        target,
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        f"{literal(schema)} AND table_name = {literal(name)} ORDER BY ordinal_position",
        what=f"read the columns of {table}",
    )
    found = [line for line in raw.splitlines() if line]
    if not found:
        raise DbError(f"no table {pg.qualified(table)} in {target.shown}")
    return found


def figures(target: Target, table: str, sample_sql: str) -> dict[str, Any]:
    """Row count, an md5 over the rows (sorted as text) and the sample query's answer."""
    raw = psql(
        target,
        f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
        f"FROM {pg.quoted(table)} AS t",
        what=f"count and checksum {table}",
    )
    count, checksum = raw.split("|")
    found: dict[str, Any] = {"rows": int(count), "checksum": checksum}
    if sample_sql:
        found["sample"] = pg.script(
            target, f"SET default_transaction_read_only = on;\n{sample_sql};\n", what="sample"
        )
    return found


def _copy_out(target: Target, table: str, cols: list[str]) -> str:
    listed = ", ".join(ident(c) for c in cols)
    argv = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", target.conninfo()]
    argv += ["-c", f"COPY (SELECT {listed} FROM {pg.quoted(table)}) TO STDOUT"]
    return pg.tool(argv, target, what=f"read {table} from the scratch database")


def _statements(table: str, key: str, cols: list[str]) -> dict[str, str]:
    t, k = pg.quoted(table), ident(key)
    sets = ", ".join(f"{ident(c)} = r.{ident(c)}" for c in cols if c != key)
    missing = f"NOT EXISTS (SELECT 1 FROM {t} AS x WHERE x.{k} = r.{k})"
    changed = f"x.{k} = r.{k} AND ROW(x.*) IS DISTINCT FROM ROW(r.*)"
    gone = f"NOT EXISTS (SELECT 1 FROM {TEMP} AS r WHERE r.{k} = x.{k})"
    first = f"ORDER BY 1 LIMIT {SHOWN_KEYS}"
    return {
        "count_insert": f"SELECT count(*) FROM {TEMP} AS r WHERE {missing};",
        "count_update": f"SELECT count(*) FROM {t} AS x JOIN {TEMP} AS r ON {changed};",
        "count_delete": f"SELECT count(*) FROM {t} AS x WHERE {gone};",
        "keys_insert": f"SELECT r.{k}::text FROM {TEMP} AS r WHERE {missing} {first};",
        "keys_update": f"SELECT r.{k}::text FROM {t} AS x JOIN {TEMP} AS r ON {changed} {first};",
        "keys_delete": f"SELECT x.{k}::text FROM {t} AS x WHERE {gone} {first};",
        "insert": f"INSERT INTO {t} SELECT r.* FROM {TEMP} AS r WHERE {missing};",
        "update": f"UPDATE {t} AS x SET {sets} FROM {TEMP} AS r WHERE {changed};" if sets else "",
        "delete": f"DELETE FROM {t} AS x WHERE {gone};",
    }


def _session(live: Target, scratch: Target, table: str, key: str) -> tuple[str, dict[str, str]]:
    cols = columns(live, table)
    if columns(scratch, table) != cols:
        raise DbError(
            f"{table} has other columns now than in the backup; the copy-back needs the same "
            "columns in the same order (migrate the scratch copy, or recover by hand)"
        )
    if key not in cols:
        raise DbError(f"key column {key!r} is not a column of {table}; columns: {', '.join(cols)}")
    data = _copy_out(scratch, table, cols)
    head = (
        f"BEGIN;\nCREATE TEMP TABLE {TEMP} (LIKE {pg.quoted(table)} INCLUDING DEFAULTS) "
        f"ON COMMIT DROP;\nCOPY {TEMP} FROM STDIN;\n{data}\\.\n"
    )
    return head, _statements(table, key, cols)


def diff(live: Target, scratch: Target, table: str, key: str) -> dict[str, Any]:
    """Rows the copy-back would insert, update, and (``replace`` mode) delete.

    ``insert``/``update``/``delete`` are counts; ``*_keys`` the first keys of each.
    """
    head, sql = _session(live, scratch, table, key)
    kinds = ("insert", "update", "delete")
    parts = [sql[f"count_{kind}"] for kind in kinds]
    for kind in kinds:
        parts += [f"SELECT '--{kind}--';", sql[f"keys_{kind}"]]
    body = "\n".join(parts)
    raw = pg.script(live, f"{head}{body}\nROLLBACK;\n", what=f"diff of {table}")
    counts, _, rest = raw.partition("--insert--")
    found: dict[str, Any] = dict(zip(kinds, (int(x) for x in counts.split()), strict=True))
    inserted, _, rest = rest.partition("--update--")
    updated, _, deleted = rest.partition("--delete--")
    for kind, text in zip(kinds, (inserted, updated, deleted), strict=True):
        found[f"{kind}_keys"] = text.split()
    return found


def copy_back(live: Target, scratch: Target, table: str, key: str, *, replace: bool) -> str:
    """Apply the backup's rows to the live table in one transaction."""
    head, sql = _session(live, scratch, table, key)
    steps = [sql["insert"], sql["update"]] + ([sql["delete"]] if replace else [])
    pg.script(live, head + "\n".join(s for s in steps if s) + "\nCOMMIT;\n", what="copy-back")
    return f"copied {pg.qualified(table)} back from the scratch database"


def safety_dump(live: Target, table: str, out: Path, sample_sql: str = "") -> str:
    """``pg_dump -Fc --data-only -t TABLE`` of the live table, with its figures beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = ["pg_dump", "-Fc", "--data-only", "-t", pg.qualified(table)]
    argv += ["-f", str(out), "-d", live.conninfo()]
    pg.tool(argv, live, what=f"safety dump of {table}")
    out.chmod(0o600)  # the table's data: readable by its owner only
    record = figures(live, table, sample_sql)
    atomic_write(out.with_name(out.name + ".json"), json.dumps(record).encode(), mode=0o600)
    return f"safety dump of {pg.qualified(table)} ({record['rows']} rows) in {out}"


def undo_copy_back(live: Target, table: str, dump: Path) -> str:
    """Put the table back to the safety dump: delete its rows and load the dump, atomically."""
    if not dump.is_file():
        raise DbError(f"no safety dump {dump}; the copy-back cannot be undone automatically")
    restore = pg.tool(
        ["pg_restore", "--data-only", "-f", "-", str(dump)], live, what="read the safety dump"
    )
    pg.script(
        live,
        f"BEGIN;\nDELETE FROM {pg.quoted(table)};\n{restore}\nCOMMIT;\n",
        what=f"undo the copy-back of {table}",
    )
    expected = json.loads(dump.with_name(dump.name + ".json").read_text())
    found = figures(live, table, "")
    if found["checksum"] != expected["checksum"]:
        raise DbError(f"{table} after the undo does not match the safety dump {dump}")
    return f"{pg.qualified(table)} is back as it was before the copy-back ({found['rows']} rows)"
