"""The playbooks run end to end by the real ``opsbooks run`` program against SQLite files."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys
from pathlib import Path

import pytest
from backup_kit import VENV_BIN, last_report, make_sqlite, opsbooks, sqlite_rows

from opsbooks_playbooks.actions import db


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.opsbooks]\npackages = ["opsbooks_playbooks"]\n')
    return tmp_path


@pytest.mark.slow
def test_backup_run_and_verify_through_the_engine(project: Path) -> None:
    url = make_sqlite(project / "shop.db")
    dest = project / "backups"
    ran = opsbooks(project, "run", "backup.run", "--db", url, "--dest", str(dest), "--keep", "2")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Run succeeded" in ran.stdout
    assert db.latest(dest, verified_only=True)[1].tables == {"orders": 10}
    again = opsbooks(project, "run", "backup.verify", "--backup", str(dest))
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.slow
def test_backup_restore_refused_without_the_typed_target_name(project: Path) -> None:
    url = make_sqlite(project / "shop.db")
    dest = project / "backups"
    assert db.verify(db.backup(url, dest)[0])[1].verified
    (project / "answers.json").write_text(json.dumps({"approve": "yes"}))
    ran = opsbooks(
        project,
        *("run", "backup.restore", "--backup", str(dest), "--db", url),
        *("--target-name", "shop", "--answers", "answers.json"),
    )
    assert ran.returncode == 2 and "type exactly" in ran.stdout + ran.stderr
    assert not Path(f"{project / 'shop.db'}.pre-restore").exists()


@pytest.mark.slow
def test_backup_restore_through_the_engine(project: Path) -> None:
    path = project / "shop.db"
    url = make_sqlite(path)
    dest = project / "backups"
    db.verify(db.backup(url, dest)[0])
    before = sqlite_rows(path)
    path.unlink()
    (project / "answers.json").write_text(json.dumps({"approve": "shop"}))
    ran = opsbooks(
        project,
        *("run", "backup.restore", "--backup", str(dest), "--db", url),
        *("--target-name", "shop", "--answers", "answers.json"),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sqlite_rows(path) == before


def test_python_is_the_venv_one() -> None:
    assert Path(VENV_BIN) == Path(sys.executable).parent


@pytest.mark.slow
def test_recovery_drill_through_the_engine_records_the_recovery_point(project: Path) -> None:
    url = make_sqlite(project / "shop.db", rows=3)
    dest = project / "backups"
    path, manifest, _ = db.backup(url, dest)
    scratch = project / "scratch.db"
    ran = opsbooks(
        project,
        *("run", "dr.recovery_test", "--service", "shop", "--backup-dir", str(dest)),
        *("--scratch", f"sqlite:///{scratch}"),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert not scratch.exists()
    report = last_report(project)
    step = next(s for s in report["steps"] if s["step"] == "record_recovery_point")
    record = json.loads(step["output_tail"].splitlines()[0])
    assert record["backup"] == str(path)
    assert record["recovery_point"] == manifest.created_at
    metrics = report["run"]["metrics"]
    assert metrics["rpo_seconds"] == record["rpo_seconds"] and metrics["rpo_met"] is True
    assert 0 < metrics["rto_seconds"] < 60 and metrics["rto_met"] is True


@pytest.mark.slow
def test_disaster_recovery_through_the_engine(project: Path) -> None:
    primary = project / "shop.db"
    url = make_sqlite(primary, rows=6)
    dest = project / "backups"
    manifest = db.verify(db.backup(url, dest)[0])[1]
    at_backup = sqlite_rows(primary)
    conn = sqlite3.connect(primary)
    conn.execute("INSERT INTO orders (item) VALUES ('lost')")
    conn.commit()
    conn.close()
    lost_at = manifest.created + dt.timedelta(seconds=90)
    primary.unlink()
    Path(f"{primary}-wal").unlink(missing_ok=True)
    standby = project / "standby.db"
    config = project / "shop.env"
    config.write_text(f"DATABASE_URL={url}\n")
    (project / "answers.json").write_text(json.dumps({"declare": "shop"}))
    ran = opsbooks(
        project,
        *("run", "dr.disaster_recovery", "--service", "shop", "--backup-dir", str(dest)),
        *("--standby", f"sqlite:///{standby}", "--endpoint-config", str(config)),
        *("--endpoint-key", "DATABASE_URL", "--answers", "answers.json"),
        *("--last-write-at", lost_at.isoformat()),
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sqlite_rows(standby) == at_backup
    assert config.read_text() == f"DATABASE_URL=sqlite:///{standby}\n"
    metrics = last_report(project)["run"]["metrics"]
    assert metrics["rpo_seconds"] == 90.0 and metrics["rpo_met"] is True
    assert metrics["rto_seconds"] > 0 and metrics["rto_met"] is True
