"""PostgreSQL upkeep: size and dead-tuple figures, VACUUM (ANALYZE), ANALYZE, REINDEX.

Every statement runs in its own ``psql -c`` call, so VACUUM and REINDEX CONCURRENTLY
(which refuse a transaction block) run in autocommit. Figures come from
``pg_total_relation_size`` / ``pg_relation_size`` / ``pg_indexes_size`` and
``pg_stat_user_tables`` (``n_live_tup``, ``n_dead_tup``); the bloat estimate is the
dead share of the heap, ``table_bytes * dead / (live + dead)``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

from opsbooks_playbooks.actions.db import postgres
from opsbooks_playbooks.actions.db.manifest import DbError
from opsbooks_playbooks.actions.db.postgres import Target, ident, literal, psql

#: REINDEX ... CONCURRENTLY exists from PostgreSQL 12.
CONCURRENT_REINDEX_FROM = 120000

FIGURES_SQL = """
SELECT coalesce(json_agg(row_to_json(t) ORDER BY t.name), '[]') FROM (
  SELECT format('%s.%s', s.schemaname, s.relname) AS name,
         pg_total_relation_size(s.relid) AS total_bytes,
         pg_relation_size(s.relid) AS table_bytes,
         pg_indexes_size(s.relid) AS index_bytes,
         s.n_live_tup AS live_tuples,
         s.n_dead_tup AS dead_tuples,
         (SELECT coalesce(json_object_agg(i.indexrelname, pg_relation_size(i.indexrelid)), '{}')
            FROM pg_stat_user_indexes i WHERE i.relid = s.relid) AS indexes
  FROM pg_stat_user_tables s
  WHERE %(filter)s
) AS t
""".strip()


def qualified(table: str) -> str:
    """``schema.name`` for a table given with or without its schema (default ``public``)."""
    return table if "." in table else f"public.{table}"


def quoted(table: str) -> str:
    """The table as a quoted SQL identifier, ``"schema"."name"``."""
    schema, name = qualified(table).split(".", 1)
    return f"{ident(schema)}.{ident(name)}"


def _filter(tables: Sequence[str]) -> str:
    if not tables:
        return "true"
    names = ", ".join(literal(qualified(t)) for t in tables)
    return f"format('%s.%s', s.schemaname, s.relname) IN ({names})"


def figures(target: Target, tables: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Size, tuple and bloat figures per table (all user tables when none are named)."""
    raw = psql(target, FIGURES_SQL.replace("%(filter)s", _filter(tables)), what="read figures")
    rows: list[dict[str, Any]] = json.loads(raw or "[]")
    missing = sorted({qualified(t) for t in tables} - {row["name"] for row in rows})
    if missing:
        raise DbError(
            f"no table {', '.join(missing)} in {target.shown}; list them with "
            "`psql -c '\\dt *.*'` and give name or schema.name"
        )
    for row in rows:
        live, dead = int(row["live_tuples"]), int(row["dead_tuples"])
        share = dead / (live + dead) if live + dead else 0.0
        row["bloat_bytes"] = int(int(row["table_bytes"]) * share)
    return rows


def server_version(target: Target) -> int:
    """``server_version_num``, e.g. 150018."""
    return int(psql(target, "SHOW server_version_num", what="read the server version"))


def _each(target: Target, tables: Sequence[str], statement: str, what: str) -> list[str]:
    done = []
    for table in tables or [""]:
        sql = f"{statement} {quoted(table)}" if table else statement
        psql(target, sql, what=what)
        done.append(sql)
    return done


def vacuum(target: Target, tables: Sequence[str] = (), *, analyze: bool = True) -> list[str]:
    """``VACUUM (ANALYZE)`` each table (the whole database when none are named)."""
    statement = "VACUUM (ANALYZE)" if analyze else "VACUUM"
    return _each(target, tables, statement, "VACUUM")


def analyze(target: Target, tables: Sequence[str] = ()) -> list[str]:
    """``ANALYZE`` each table (the whole database when none are named)."""
    return _each(target, tables, "ANALYZE", "ANALYZE")


def reindex(target: Target, tables: Sequence[str] = ()) -> list[str]:
    """``REINDEX TABLE [CONCURRENTLY]`` each table; all user tables when none are named."""
    concurrent = server_version(target) >= CONCURRENT_REINDEX_FROM
    names = list(tables) or [row["name"] for row in figures(target)]
    statement = "REINDEX TABLE CONCURRENTLY" if concurrent else "REINDEX TABLE"
    return _each(target, names, statement, "REINDEX")


def invalid_indexes(target: Target) -> list[str]:
    """Indexes left invalid (an interrupted CREATE/REINDEX ... CONCURRENTLY leaves these)."""
    raw = psql(
        target,
        "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid ORDER BY 1",
        what="look for invalid indexes",
    )
    return [line for line in raw.splitlines() if line]


def script(target: Target, sql: str, *, what: str, dbname: str | None = None) -> str:
    """Run a multi-statement script (given on stdin, never argv) with ON_ERROR_STOP."""
    tool = postgres.client_tool("psql")
    argv = [tool, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    argv += ["-d", target.conninfo(dbname), "-f", "-"]
    try:
        done = subprocess.run(
            argv, input=sql, capture_output=True, text=True, env=target.env(), check=False
        )
    except OSError as exc:
        raise DbError(f"{what}: cannot run psql: {exc.strerror}") from None
    if done.returncode != 0:
        lines = [x.strip() for x in done.stderr.splitlines() if x.strip()]
        reason = next(
            (x for x in lines if "ERROR" in x or "FATAL" in x), lines[-1] if lines else ""
        )
        raise DbError(f"{what} on {target.shown} failed: {target.redact(reason)}")
    return done.stdout.strip()


def tool(argv: Sequence[str], target: Target, *, what: str) -> str:
    """Run a client tool (``pg_dump``, ``pg_restore``) with the password in its environment."""
    try:
        done = subprocess.run(
            [postgres.client_tool(argv[0]), *argv[1:]],
            capture_output=True,
            text=True,
            env=target.env(),
            check=False,
        )
    except OSError as exc:
        raise DbError(f"{what}: cannot run {argv[0]}: {exc.strerror}") from None
    if done.returncode != 0:
        lines = [x.strip() for x in done.stderr.splitlines() if x.strip()]
        reason = target.redact(lines[0] if lines else f"exit {done.returncode}")
        raise DbError(f"{what} on {target.shown} failed ({argv[0]}): {reason}")
    return done.stdout
