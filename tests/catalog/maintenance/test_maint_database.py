"""maintenance.database through the engine: real PostgreSQL bloat, a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from maint_kit import PASSWORD, pg_url, sqlite_exec

from opsbooks.testing import Drill
from opsbooks.testing.postgres import PostgresServer

pytestmark = pytest.mark.slow  # the actions run as subprocesses against real databases

DB = "maint_bloat"
#: 1..N as rows of ``value`` (this SQLite has no generate_series)
SERIES = (
    "WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < %d) "
    "SELECT value FROM s"
)


@pytest.fixture(scope="module")
def bloated(maint_pg: PostgresServer) -> str:
    """``orders``: 20000 rows, every one updated and a quarter deleted: 25000 dead tuples.

    Autovacuum is off for the table so the dead tuples stay until the runbook vacuums.
    """
    maint_pg.dropdb(DB)
    maint_pg.createdb(DB)
    maint_pg.psql(
        "CREATE TABLE orders (id int PRIMARY KEY, note text NOT NULL) "
        "WITH (autovacuum_enabled = false);"
        "CREATE INDEX orders_note ON orders (note);"
        "CREATE TABLE tiny (id int PRIMARY KEY);"
        "INSERT INTO orders SELECT g, repeat('x', 100) || g FROM generate_series(1, 20000) g;",
        DB,
    )
    maint_pg.psql("UPDATE orders SET note = note || '-changed'", DB)
    maint_pg.psql("DELETE FROM orders WHERE id % 4 = 0", DB)
    return pg_url(maint_pg, DB)


def dead_tuples(pg: PostgresServer) -> int:
    return int(pg.psql("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'orders'", DB))


def test_full_maintenance_vacuums_and_reindexes_after_the_gate(
    drill: Drill, maint_pg: PostgresServer, bloated: str
) -> None:
    assert dead_tuples(maint_pg) >= 20000
    drill.environ = {"OPSBOOKS_SECRET_DB": bloated}  # how an operator gives the secret
    params = {
        "operation": "full",
        "tables": "public.orders",
        "large_table_bytes": 1024 * 1024,
    }
    stopped = drill.run("maintenance.database", params)
    assert stopped.outcome == "stopped"  # the large table's REINDEX waits for a person
    assert stopped.steps["vacuum"] == "succeeded" and stopped.steps["approve_reindex"] == "stopped"
    assert stopped.report.outputs["large_tables"] == "public.orders"
    assert dead_tuples(maint_pg) == 0  # VACUUM (ANALYZE) already ran

    oid_before = maint_pg.psql("SELECT 'orders_note'::regclass::oid", DB)
    result = drill.resume(stopped.run_id, answers={"approve_reindex": True})
    result.assert_succeeded()
    # REINDEX CONCURRENTLY builds a new index and swaps it in: a new relation
    assert maint_pg.psql("SELECT 'orders_note'::regclass::oid", DB) != oid_before
    metrics = result.metrics
    assert metrics["before_dead_tuples"] >= 20000
    assert metrics["after_dead_tuples"] == 0
    assert metrics["dead_tuples_removed"] == metrics["before_dead_tuples"]
    assert metrics["after_index_bytes"] < metrics["before_index_bytes"]  # the rebuilt index
    assert "dead tuples removed" in result.output
    for text in (stopped.output, result.output, json.dumps(result.report.outputs)):
        assert PASSWORD not in text
    after = json.loads(
        (drill.root / ".opsbooks" / "maintenance" / f"{result.run_id}-after.json").read_text()
    )
    assert [row["name"] for row in after["tables"]] == ["public.orders"]


def test_an_unknown_table_fails_with_a_clear_message(drill: Drill, bloated: str) -> None:
    result = drill.run("maintenance.database", {"db": bloated, "tables": "public.nope"})
    assert result.outcome in ("failed", "rolled_back")
    assert result.report.failed_step == "before"
    assert "no table public.nope" in result.output and "Traceback" not in result.output


def test_sqlite_vacuum_gives_free_pages_back(drill: Drill, tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    sqlite_exec(
        path,
        "CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
        "CREATE INDEX events_body ON events (body)",
        f"INSERT INTO events SELECT value, printf('%.300c', 'x') || value FROM ({SERIES % 4000})",
        "DELETE FROM events WHERE id > 500",
    )
    size_before = path.stat().st_size
    result = drill.run("maintenance.database", {"db": f"sqlite:///{path}", "operation": "full"})
    result.assert_succeeded()
    result.assert_succeeded_step("reindex")
    result.assert_skipped("approve_reindex")  # no table reaches large_table_bytes (1 GiB)
    assert result.report.outputs["large_tables"] == "none"
    metrics = result.metrics
    assert metrics["before_file_bytes"] == size_before
    assert metrics["after_file_bytes"] == path.stat().st_size < size_before
    assert metrics["before_bloat_bytes"] > 0 and metrics["after_bloat_bytes"] == 0
    assert metrics["reclaimed_bytes"] == size_before - path.stat().st_size
    assert "PRAGMA integrity_check ok" in result.output


def test_a_damaged_sqlite_file_stops_before_any_change(drill: Drill, tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    sqlite_exec(
        path,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
        "CREATE INDEX t_v ON t (v)",
        f"INSERT INTO t SELECT value, 'v' || value FROM ({SERIES % 2000})",
    )
    # damage the index: its entries no longer match what the schema says it indexes
    sqlite_exec(
        path,
        "PRAGMA writable_schema = ON",
        "UPDATE sqlite_master SET sql = 'CREATE INDEX t_v ON t (id)' WHERE name = 't_v'",
    )
    result = drill.run("maintenance.database", {"db": f"sqlite:///{path}", "operation": "analyze"})
    assert result.report.failed_step == "check_db"  # nothing is touched on a damaged file
    assert "integrity check" in result.output and "Traceback" not in result.output
