"""The playbooks' bound commands, run in order through ``sh -c`` against real SQLite files.

Paths hold spaces and quotes on purpose: every value must reach the action as one
argument. Gates and notices are skipped here; the engine's tests cover those.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from backup_kit import RunSteps, ids, make_sqlite, sh, sqlite_rows

import opsbooks as ob
from opsbooks_playbooks.actions import db
from opsbooks_playbooks.backup.restore import BackupRestore
from opsbooks_playbooks.backup.run import BackupRun
from opsbooks_playbooks.backup.verify import BackupVerify
from opsbooks_playbooks.dr.disaster_recovery import DisasterRecovery
from opsbooks_playbooks.dr.recovery_test import RecoveryTest

pytestmark = pytest.mark.slow  # the chain's real sh commands


def add_rows(path: Path, count: int) -> None:
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO orders (item) VALUES (?)", [("late",)] * count)
    conn.commit()
    conn.close()


def backed_up(tmp_path: Path, run_steps: RunSteps, *, keep: int = 2) -> tuple[Path, str, Path]:
    data = tmp_path / "data dir"
    data.mkdir(exist_ok=True)
    path = data / "shop's.db"
    url = make_sqlite(path) if not path.exists() else f"sqlite:///{path}"
    dest = tmp_path / "my backups"
    plan = ob.plan(BackupRun, BackupRun.Params(db=url, dest=str(dest), keep=keep))
    ran = run_steps(plan)
    assert [r.exit_code for r in ran] == [0, 0, 0], ran
    assert ids(ran) == ["check_source", "take_backup", "verify_backup"]
    return path, url, dest


def test_backup_run_chain(tmp_path: Path, run_steps: RunSteps) -> None:
    dest = backed_up(tmp_path, run_steps)[2]
    newest, manifest = db.latest(dest, verified_only=True)
    assert manifest.tables == {"orders": 10} and manifest.verified
    for _ in range(2):
        backed_up(tmp_path, run_steps, keep=2)
    assert len(list(dest.glob("*.manifest.json"))) == 2
    assert db.latest(dest)[0] != newest


def test_backup_run_stops_on_a_missing_source(tmp_path: Path, run_steps: RunSteps) -> None:
    params = BackupRun.Params(db=f"sqlite:///{tmp_path}/gone.db", dest=str(tmp_path / "bk"))
    ran = run_steps(ob.plan(BackupRun, params))
    assert ids(ran) == ["check_source"] and ran[0].exit_code == 1
    assert "does not exist" in ran[0].stderr
    assert not (tmp_path / "bk").exists()


def test_backup_verify_chain_fails_on_tampering(tmp_path: Path, run_steps: RunSteps) -> None:
    _, _, dest = backed_up(tmp_path, run_steps)
    plan = ob.plan(BackupVerify, BackupVerify.Params(backup=str(dest)))
    assert [r.exit_code for r in run_steps(plan)] == [0, 0]
    backup = db.latest(dest)[0]
    backup.write_bytes(backup.read_bytes() + b"x")
    ran = run_steps(plan)
    assert ran[0].exit_code == 1 and "truncated or changed" in ran[0].stderr


def test_backup_restore_chain_after_loss(tmp_path: Path, run_steps: RunSteps) -> None:
    path, url, dest = backed_up(tmp_path, run_steps)
    before = sqlite_rows(path)
    path.unlink()
    Path(f"{path}-wal").unlink(missing_ok=True)
    marks = tmp_path / "marks"
    marks.mkdir()
    params = BackupRestore.Params(
        backup=str(dest),
        db=url,
        target_name="shop",
        stop_writers_command=f"touch '{marks}/stopped'",
        start_writers_command=f"touch '{marks}/started'",
    )
    ran = run_steps(ob.plan(BackupRestore, params))
    assert ids(ran) == [
        "check_backup",
        "backup_age",
        "stop_writers",
        "restore",
        "verify_restore",
        "reopen_writers",
    ]
    assert all(r.exit_code == 0 for r in ran), ran
    age = json.loads(ran[1].stdout)
    assert age["age_seconds"] >= 0 and age["backup"].startswith(str(dest))
    assert sqlite_rows(path) == before
    assert sorted(p.name for p in marks.iterdir()) == ["started", "stopped"]


def test_backup_restore_undo_puts_the_previous_data_back(
    tmp_path: Path, run_steps: RunSteps
) -> None:
    path, url, dest = backed_up(tmp_path, run_steps)
    add_rows(path, 4)
    newer = sqlite_rows(path)
    plan = ob.plan(BackupRestore, BackupRestore.Params(backup=str(dest), db=url, target_name="s"))
    ran = run_steps(plan)
    assert "stop_writers" not in ids(ran) and all(r.exit_code == 0 for r in ran)
    assert len(sqlite_rows(path)) == 10
    undo = plan.compensations["undo_restore"]
    assert undo.command is not None
    assert sh(undo.command, tmp_path, undo.spec.env).returncode == 0
    assert sqlite_rows(path) == newer


def test_disaster_recovery_chain(tmp_path: Path, run_steps: RunSteps) -> None:
    primary, url, dest = backed_up(tmp_path, run_steps)
    at_backup = sqlite_rows(primary)
    add_rows(primary, 3)
    primary.unlink()
    standby = tmp_path / "standby" / "shop.db"
    config = tmp_path / "shop.env"
    config.write_text(f"DATABASE_URL={url}\nWORKERS=4\n")
    params = DisasterRecovery.Params(
        service="shop",
        backup_dir=str(dest),
        standby=f"sqlite:///{standby}",
        endpoint_config=str(config),
        endpoint_key="DATABASE_URL",
    )
    plan = ob.plan(DisasterRecovery, params)
    ran = run_steps(plan)
    assert ids(ran) == ["find_backup", "restore_standby", "verify_standby", "switch_endpoint"]
    assert all(r.exit_code == 0 for r in ran), ran
    assert sqlite_rows(standby) == at_backup
    restored = json.loads(ran[1].stdout)
    assert restored["recovery_point"] == restored["created_at"]
    assert config.read_text() == f"DATABASE_URL=sqlite:///{standby}\nWORKERS=4\n"
    back = plan.compensations["undo_switch_endpoint"]
    assert back.command is not None
    assert sh(back.command, tmp_path, back.spec.env).returncode == 0
    assert config.read_text() == f"DATABASE_URL={url}\nWORKERS=4\n"
    undo = plan.compensations["undo_restore_standby"]
    assert undo.command is not None
    assert sh(undo.command, tmp_path, undo.spec.env).returncode == 0


def test_disaster_recovery_needs_a_verified_backup(tmp_path: Path, run_steps: RunSteps) -> None:
    dest = backed_up(tmp_path, run_steps)[2]
    for manifest in dest.glob("*.manifest.json"):
        data = json.loads(manifest.read_text())
        data["verified_at"] = None
        manifest.write_text(json.dumps(data))
    params = DisasterRecovery.Params(
        service="shop",
        backup_dir=str(dest),
        standby=f"sqlite:///{tmp_path}/standby.db",
        endpoint_config=str(tmp_path / "shop.env"),
    )
    ran = run_steps(ob.plan(DisasterRecovery, params))
    assert ids(ran) == ["find_backup"] and ran[0].exit_code == 1
    assert "no verified backup" in ran[0].stderr


def test_recovery_test_chain(tmp_path: Path, run_steps: RunSteps) -> None:
    _, _, dest = backed_up(tmp_path, run_steps)
    scratch = tmp_path / "scratch" / "drill.db"
    params = RecoveryTest.Params(
        service="shop", backup_dir=str(dest), scratch=f"sqlite:///{scratch}"
    )
    ran = run_steps(ob.plan(RecoveryTest, params))
    assert ids(ran) == [
        "find_backup",
        "restore_scratch",
        "verify_scratch",
        "drop_scratch",
        "backup_fresh",
    ]
    assert all(r.exit_code == 0 for r in ran), ran
    assert not scratch.exists()
