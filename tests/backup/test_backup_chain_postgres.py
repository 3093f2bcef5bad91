"""The playbooks' bound commands through ``sh -c`` against a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_kit import RunSteps, ids, last_report, opsbooks, sh

import opsbooks as ob
from opsbooks.testing.postgres import PostgresServer
from opsbooks_playbooks.actions import db
from opsbooks_playbooks.backup.restore import BackupRestore
from opsbooks_playbooks.backup.run import BackupRun
from opsbooks_playbooks.dr.disaster_recovery import DisasterRecovery
from opsbooks_playbooks.dr.recovery_test import RecoveryTest

pytestmark = pytest.mark.slow
ROWS = "SELECT id, item FROM orders ORDER BY id"


@pytest.fixture
def shop(pg: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = "shop_" + request.node.name.removeprefix("test_")[:30]
    for leftover in (name, f"{name}_standby", f"{name}_drill"):
        pg.dropdb(leftover)
        pg.dropdb(f"{leftover}_pre_restore")
    pg.createdb(name)
    pg.psql(
        "CREATE TABLE orders (id serial PRIMARY KEY, item text, at timestamptz DEFAULT now());"
        "INSERT INTO orders (item) SELECT 'o' || g FROM generate_series(1, 20) g;",
        db=name,
    )
    yield name
    for leftover in (name, f"{name}_standby", f"{name}_drill"):
        pg.dropdb(leftover)
        pg.dropdb(f"{leftover}_pre_restore")


def backed_up(pg: PostgresServer, name: str, dest: Path, run_steps: RunSteps) -> None:
    params = BackupRun.Params(
        db=pg.url_for(name),
        dest=str(dest),
        keep=2,
        watermark_sql="SELECT max(at) FROM orders",
    )
    ran = run_steps(ob.plan(BackupRun, params))
    assert [r.exit_code for r in ran] == [0, 0, 0], ran


def test_backup_then_restore_after_drop(
    pg: PostgresServer, shop: str, tmp_path: Path, run_steps: RunSteps
) -> None:
    dest = tmp_path / "backups"
    backed_up(pg, shop, dest, run_steps)
    manifest = db.latest(dest, verified_only=True)[1]
    assert manifest.tables == {"public.orders": 20} and manifest.last_write_at
    before = pg.psql(ROWS, db=shop)
    pg.dropdb(shop)
    params = BackupRestore.Params(backup=str(dest), db=pg.url_for(shop), target_name=shop)
    ran = run_steps(ob.plan(BackupRestore, params))
    assert ids(ran) == ["check_backup", "backup_age", "restore", "verify_restore"]
    assert all(r.exit_code == 0 for r in ran), ran
    assert pg.psql(ROWS, db=shop) == before


def test_disaster_recovery_onto_standby(
    pg: PostgresServer, shop: str, tmp_path: Path, run_steps: RunSteps
) -> None:
    dest = tmp_path / "backups"
    backed_up(pg, shop, dest, run_steps)
    at_backup = pg.psql(ROWS, db=shop)
    pg.psql("INSERT INTO orders (item) VALUES ('lost 1'), ('lost 2')", db=shop)
    pg.dropdb(shop)
    standby = pg.url_for(f"{shop}_standby")
    config = tmp_path / "shop.url"
    config.write_text(pg.url_for(shop) + "\n")
    params = DisasterRecovery.Params(
        service="shop", backup_dir=str(dest), standby=standby, endpoint_config=str(config)
    )
    plan = ob.plan(DisasterRecovery, params)
    ran = run_steps(plan)
    assert ids(ran) == ["find_backup", "restore_standby", "verify_standby", "switch_endpoint"]
    assert all(r.exit_code == 0 for r in ran), ran
    assert pg.psql(ROWS, db=f"{shop}_standby") == at_backup
    restored = json.loads(ran[1].stdout)
    assert restored["recovery_point"] == restored["last_write_at"]
    assert config.read_text() == standby + "\n"
    back = plan.compensations["undo_switch_endpoint"]
    assert back.command is not None
    assert sh(back.command, tmp_path, back.spec.env).returncode == 0
    assert config.read_text() == pg.url_for(shop) + "\n"


def test_recovery_drill_into_scratch(
    pg: PostgresServer, shop: str, tmp_path: Path, run_steps: RunSteps
) -> None:
    dest = tmp_path / "backups"
    backed_up(pg, shop, dest, run_steps)
    scratch = f"{shop}_drill"
    params = RecoveryTest.Params(service="shop", backup_dir=str(dest), scratch=pg.url_for(scratch))
    ran = run_steps(ob.plan(RecoveryTest, params))
    assert all(r.exit_code == 0 for r in ran), ran
    assert ids(ran)[-1] == "backup_fresh"
    gone = pg.psql(f"SELECT count(*) FROM pg_database WHERE datname LIKE '{scratch}%'")
    assert gone == "0"


def test_disaster_recovery_through_the_engine(
    pg: PostgresServer, shop: str, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.opsbooks]\npackages = ["opsbooks_playbooks"]\n')
    dest = tmp_path / "backups"
    manifest = db.verify(db.backup(pg.url_for(shop), dest)[0])[1]
    at_backup = pg.psql(ROWS, db=shop)
    pg.psql("INSERT INTO orders (item) VALUES ('lost')", db=shop)
    pg.dropdb(shop)
    config = tmp_path / "shop.url"
    config.write_text(pg.url_for(shop) + "\n")
    (tmp_path / "answers.json").write_text(json.dumps({"declare": "shop"}))
    lost_at = manifest.created + dt.timedelta(minutes=5)
    ran = opsbooks(
        tmp_path,
        *("run", "dr.disaster_recovery", "--service", "shop", "--backup-dir", str(dest)),
        *("--standby", pg.url_for(f"{shop}_standby"), "--endpoint-config", str(config)),
        *("--answers", "answers.json", "--last-write-at", lost_at.isoformat()),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert pg.psql(ROWS, db=f"{shop}_standby") == at_backup
    metrics = last_report(tmp_path)["run"]["metrics"]
    assert metrics["rpo_seconds"] == 300.0 and metrics["rpo_met"] is True
    assert 0 < metrics["rto_seconds"] < 60 and metrics["rto_met"] is True
