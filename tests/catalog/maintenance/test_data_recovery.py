"""backup.data_recovery through the engine: one table back from a real pg_dump / SQLite backup."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from maint_kit import (
    PASSWORD,
    make_shop_pg,
    make_shop_sqlite,
    pg_rows,
    pg_url,
    sqlite_exec,
    sqlite_rows,
)

from opsbooks.testing import Drill
from opsbooks.testing.postgres import PostgresServer
from opsbooks_playbooks.actions import db

pytestmark = pytest.mark.slow  # real PostgreSQL, pg_dump/pg_restore and subprocesses

DAMAGE = (
    "DELETE FROM orders WHERE id BETWEEN 11 AND 20;"
    "UPDATE orders SET qty = 0 WHERE id IN (1, 2);"
    "INSERT INTO orders VALUES (1000, 3, 'written-after-the-backup', 7);"
    "INSERT INTO customers VALUES (99, 'customer-after-the-backup');"
)


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, tzinfo=dt.UTC)


@pytest.fixture
def damaged_pg(maint_pg: PostgresServer, tmp_path: Path, drill: Drill) -> tuple[str, Path]:
    """A verified pg_dump backup of ``shop``, then a bad deploy damages ``orders``."""
    name = f"recover_{tmp_path.name[-12:].lower().replace('-', '_')}"
    make_shop_pg(maint_pg, name)
    backups = tmp_path / "backups"
    path, _, _ = db.backup(maint_pg.url_for(name), backups)
    db.verify(path)
    maint_pg.psql(DAMAGE, name)
    drill.environ = {"OPSBOOKS_SECRET_DB": pg_url(maint_pg, name)}
    return name, backups


def scratch_databases(pg: PostgresServer) -> list[str]:
    out = pg.psql("SELECT datname FROM pg_database WHERE datname LIKE 'opsbooks_recover%'")
    return out.splitlines()


def test_deleted_rows_come_back_and_nothing_else_changes(
    drill: Drill, maint_pg: PostgresServer, damaged_pg: tuple[str, Path]
) -> None:
    name, backups = damaged_pg
    customers = pg_rows(maint_pg, name, "customers")
    result = drill.run(
        "backup.data_recovery",
        {
            "backup": str(backups),
            "table": "orders",
            "sample_sql": "SELECT count(*), sum(qty) FROM orders WHERE id BETWEEN 11 AND 20",
        },
        answers={"approve": "orders"},
    )
    result.assert_succeeded()
    outputs = result.report.outputs
    assert (outputs["to_insert"], outputs["to_update"], outputs["to_delete"]) == ("10", "2", "0")
    assert "10|155" in result.output  # the sample query on the restored copy: ids 11..20
    assert "id to insert: 11, 12, 13, 14, 15, 16, 17, 18, 19, 20" in result.output
    assert "id to update: 1, 2" in result.output
    rows = pg_rows(maint_pg, name, "orders")
    assert len(rows) == 51  # the 50 of the backup, and the row written since (merge keeps it)
    assert "11|2|item-11|11" in rows and "1|2|item-1|1" in rows  # deleted and changed: back
    assert "1000|3|written-after-the-backup|7" in rows
    assert pg_rows(maint_pg, name, "customers") == customers  # the other table untouched
    assert scratch_databases(maint_pg) == []  # the scratch database was dropped
    safety = list((drill.root / ".opsbooks" / "data-recovery").glob("*.safety.pgdump"))
    assert len(safety) == 1
    assert PASSWORD not in result.output


def test_a_failed_check_undoes_the_copy_back_from_the_safety_dump(
    drill: Drill, maint_pg: PostgresServer, damaged_pg: tuple[str, Path]
) -> None:
    name, backups = damaged_pg
    damaged = pg_rows(maint_pg, name, "orders")
    result = drill.run(
        "backup.data_recovery",
        {"backup": str(backups), "table": "public.orders", "mode": "replace"},
        answers={"approve": "public.orders"},
        fail={"check_copy_back": "rehearse a copy-back gone wrong"},
    )
    assert result.outcome == "rolled_back"
    result.assert_compensated("copy_back")
    result.assert_compensated("restore_scratch")
    assert pg_rows(maint_pg, name, "orders") == damaged  # the pre-copy state, exactly
    assert scratch_databases(maint_pg) == []


def test_sqlite_point_in_time_picks_the_older_backup_and_replaces(
    drill: Drill, tmp_path: Path
) -> None:
    live = tmp_path / "shop.db"
    make_shop_sqlite(live)
    backups = tmp_path / "backups"
    first, _, _ = db.backup(f"sqlite:///{live}", backups, now=lambda: at(1))
    db.verify(first)
    sqlite_exec(live, "UPDATE orders SET item = 'renamed-on-day-1' WHERE id = 5")
    second, _, _ = db.backup(f"sqlite:///{live}", backups, now=lambda: at(2))
    db.verify(second)
    sqlite_exec(
        live,
        "DELETE FROM orders WHERE id > 40",
        "INSERT INTO orders VALUES (2000, 1, 'new', 1)",
        "DELETE FROM customers WHERE id = 10",
    )
    customers = sqlite_rows(live, "customers")
    drill.settings = {**drill.settings, "state_dir": "var/opsbooks-state"}
    result = drill.run(
        "backup.data_recovery",
        {
            "backup": str(backups),
            "db": f"sqlite:///{live}",
            "table": "orders",
            "point_in_time": "2026-12-01T12:00:00Z",
            "mode": "replace",
            "sample_sql": "SELECT item FROM orders WHERE id = 5",
        },
        answers={"approve": "orders"},
    )
    result.assert_succeeded()
    assert first.name in result.report.outputs["backup_file"]
    outputs = result.report.outputs
    assert (outputs["to_insert"], outputs["to_update"], outputs["to_delete"]) == ("10", "1", "1")
    assert "id to update: 5" in result.output and "id to delete: 2000" in result.output
    rows = sqlite_rows(live, "orders")
    assert rows == [(i, 1 + i % 10, f"item-{i}", i) for i in range(1, 51)]  # day 1, exactly
    assert sqlite_rows(live, "customers") == customers
    work = drill.root / "var" / "opsbooks-state" / "data-recovery"  # in the state dir
    assert list(work.glob("*.safety.db")) and not list(work.glob("*.scratch.db"))
    assert not (drill.root / ".opsbooks").exists()
