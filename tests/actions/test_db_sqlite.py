"""SQLite backup actions against real database files, through functions and the real CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from opsbooks_playbooks.actions import db
from opsbooks_playbooks.actions.db.manifest import manifest_path, read_manifest


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m opsbooks_playbooks.actions.db`` for real."""
    return subprocess.run(
        [sys.executable, "-m", "opsbooks_playbooks.actions.db", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def make_app(path: Path, rows: int = 5) -> str:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT, at TEXT)")
    conn.execute('CREATE TABLE "odd ""name""" (x)')
    conn.executemany(
        "INSERT INTO orders (item, at) VALUES (?, ?)",
        [(f"item-{i}", f"2026-11-28T10:{i:02d}:00") for i in range(rows)],
    )
    conn.execute('INSERT INTO "odd ""name""" VALUES (1)')
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def add_orders(path: Path, count: int) -> None:
    conn = sqlite3.connect(path)
    conn.executemany("INSERT INTO orders (item) VALUES (?)", [("late",)] * count)
    conn.commit()
    conn.close()


def rows_of(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT * FROM orders ORDER BY id"))
    finally:
        conn.close()


def clock(*moments: str) -> db.Clock:
    queue = [dt.datetime.fromisoformat(m).replace(tzinfo=dt.UTC) for m in moments]
    return lambda: queue.pop(0)


@pytest.fixture
def app(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "app.db"
    return path, make_app(path)


@pytest.mark.slow
def test_backup_writes_file_and_manifest(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    result = cli("backup", "--db", url, "--dest", str(tmp_path / "bk"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    backup = Path(summary["backup"])
    manifest = json.loads(manifest_path(backup).read_text())
    assert manifest["format"] == "opsbooks-backup" and manifest["version"] == 1
    assert manifest["engine"] == "sqlite" and manifest["source"] == url
    assert manifest["sha256"] == hashlib.sha256(backup.read_bytes()).hexdigest()
    assert manifest["size"] == backup.stat().st_size
    assert manifest["tables"] == {"orders": 5, 'odd "name"': 1}
    assert manifest["verified_at"] is None
    assert dt.datetime.fromisoformat(manifest["created_at"].replace("Z", "+00:00")).tzinfo


@pytest.mark.slow
def test_verify_then_tamper_then_restore_every_row(app: tuple[Path, str], tmp_path: Path) -> None:
    path, url = app
    dest = tmp_path / "bk"
    before = rows_of(path)
    assert cli("backup", "--db", url, "--dest", str(dest)).returncode == 0
    ok = cli("verify", "--backup", str(dest))
    assert ok.returncode == 0, ok.stderr
    assert "checksum ok" in ok.stdout and "row counts match" in ok.stdout
    backup = Path(cli("latest", "--dest", str(dest), "--verified-only").stdout.strip())
    assert read_manifest(backup).verified

    pristine = backup.read_bytes()
    backup.write_bytes(pristine[:100] + bytes([pristine[100] ^ 0xFF]) + pristine[101:])
    bad = cli("verify", "--backup", str(backup))
    assert bad.returncode == 1
    assert "checksum mismatch" in bad.stderr and backup.name in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    assert not read_manifest(backup).verified
    refused = cli("restore", "--backup", str(backup), "--db", url, "--force")
    assert refused.returncode == 1 and "checksum mismatch" in refused.stderr
    assert cli("latest", "--dest", str(dest), "--verified-only").returncode == 1

    backup.write_bytes(pristine)
    assert cli("verify", "--backup", str(backup)).returncode == 0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    restored = cli("restore", "--backup", str(dest), "--verified-only", "--db", url)
    assert restored.returncode == 0, restored.stderr
    assert rows_of(path) == before
    assert cli("compare", "--db", url, "--backup", str(backup)).returncode == 0


@pytest.mark.slow
def test_truncated_backup_is_named(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    backup, _, _ = db.backup(url, tmp_path / "bk")
    backup.write_bytes(backup.read_bytes()[:1000])
    result = cli("verify", "--backup", str(backup))
    assert result.returncode == 1
    assert "truncated" in result.stderr and str(backup) in result.stderr


def test_row_count_mismatch_fails_verify(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    backup = db.backup(url, tmp_path / "bk")[0]
    data = json.loads(manifest_path(backup).read_text())
    data["tables"]["orders"] = 6
    manifest_path(backup).write_text(json.dumps(data))
    with pytest.raises(db.DbError, match=r"orders: 5 rows, manifest says 6"):
        db.verify(backup)


@pytest.mark.slow
def test_restore_keeps_previous_and_undo_puts_it_back(
    app: tuple[Path, str], tmp_path: Path
) -> None:
    path, url = app
    backup, _, _ = db.backup(url, tmp_path / "bk")
    add_orders(path, 3)
    newer = rows_of(path)
    refused = cli("restore", "--backup", str(backup), "--db", url)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert cli("restore", "--backup", str(backup), "--db", url, "--force").returncode == 0
    assert len(rows_of(path)) == 5
    assert Path(f"{path}.pre-restore").exists()
    assert cli("undo-restore", "--db", url).returncode == 0
    assert rows_of(path) == newer
    again = cli("undo-restore", "--db", url)
    assert again.returncode == 0 and "replaced nothing" in again.stdout
    assert rows_of(path) == newer


@pytest.mark.slow
def test_undo_of_a_restore_onto_a_new_file_removes_it(
    app: tuple[Path, str], tmp_path: Path
) -> None:
    _path, url = app
    backup, _, _ = db.backup(url, tmp_path / "bk")
    standby = tmp_path / "standby" / "app.db"
    assert cli("restore", "--backup", str(backup), "--db", f"sqlite:///{standby}").returncode == 0
    assert len(rows_of(standby)) == 5
    undone = cli("undo-restore", "--db", f"sqlite:///{standby}")
    assert undone.returncode == 0 and "the restore created it" in undone.stdout
    assert sorted(p.name for p in standby.parent.iterdir()) == []
    again = cli("undo-restore", "--db", f"sqlite:///{standby}")
    assert again.returncode == 0 and "replaced nothing" in again.stdout


@pytest.mark.slow
def test_a_restore_over_a_restored_file_undoes_to_the_first(
    app: tuple[Path, str], tmp_path: Path
) -> None:
    """The marker is about the last restore only: over existing data, undo puts it back."""
    _path, url = app
    backup, _, _ = db.backup(url, tmp_path / "bk")
    standby = f"sqlite:///{tmp_path / 'standby.db'}"
    assert cli("restore", "--backup", str(backup), "--db", standby).returncode == 0
    assert cli("restore", "--backup", str(backup), "--db", standby, "--force").returncode == 0
    assert cli("undo-restore", "--db", standby).returncode == 0
    assert len(rows_of(tmp_path / "standby.db")) == 5  # the first restore's data stays


def test_restore_keeps_wal_mode(app: tuple[Path, str], tmp_path: Path) -> None:
    path, url = app
    backup, _, _ = db.backup(url, tmp_path / "bk")
    db.restore(backup, url, force=True)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_generations_are_pruned_oldest_first(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    dest = tmp_path / "bk"
    now = clock("2026-11-28T10:00:00", "2026-11-28T11:00:00", "2026-11-28T12:00:00")
    made = [db.backup(url, dest, keep=2, now=now)[0] for _ in range(3)]
    assert not made[0].exists() and not manifest_path(made[0]).exists()
    assert all(p.exists() and manifest_path(p).exists() for p in made[1:])
    assert sorted(dest.iterdir()) == sorted(made[1:] + [manifest_path(p) for p in made[1:]])


@pytest.mark.slow
def test_latest_verified_only(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    dest = tmp_path / "bk"
    now = clock("2026-11-28T10:00:00", "2026-11-28T11:00:00")
    older = db.backup(url, dest, now=now)[0]
    newer = db.backup(url, dest, now=now)[0]
    assert cli("latest", "--dest", str(dest), "--verified-only").returncode == 1
    db.verify(older)
    assert cli("latest", "--dest", str(dest)).stdout.strip() == str(newer)
    assert cli("latest", "--dest", str(dest), "--verified-only").stdout.strip() == str(older)


@pytest.mark.slow
def test_age_and_max(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    backup = db.backup(url, tmp_path / "bk", now=lambda: hour_ago)[0]
    result = cli("age", "--backup", str(backup))
    assert result.returncode == 0 and 3590 < int(result.stdout) < 3700
    too_old = cli("age", "--backup", str(backup), "--max", "30m")
    assert too_old.returncode == 1 and "older than the allowed 30m" in too_old.stderr
    assert cli("age", "--backup", str(backup), "--max", "2h").returncode == 0


def test_watermark_is_the_recovery_point(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    sql = "SELECT max(at) FROM orders"
    _, manifest, _ = db.backup(url, tmp_path / "bk", watermark_sql=sql)
    assert manifest.watermark == "2026-11-28T10:04:00"
    assert manifest.last_write_at == "2026-11-28T10:04:00Z"
    assert manifest.recovery_point == dt.datetime(2026, 11, 28, 10, 4, tzinfo=dt.UTC)


@pytest.mark.slow
def test_failed_backup_leaves_nothing_that_looks_valid(
    app: tuple[Path, str], tmp_path: Path
) -> None:
    _, url = app
    dest = tmp_path / "bk"
    result = cli("backup", "--db", url, "--dest", str(dest), "--watermark-sql", "SELECT nope")
    assert result.returncode == 1 and "watermark query failed" in result.stderr
    assert list(dest.iterdir()) == []


@pytest.mark.slow
def test_check_missing_and_corrupt(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = cli("check", "--db", f"sqlite:///{missing}")
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not missing.exists()
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(os.urandom(8192))
    result = cli("check", "--db", f"sqlite:///{corrupt}")
    assert result.returncode == 1 and "not a SQLite database" in result.stderr


@pytest.mark.slow
def test_check_and_counts_ok(app: tuple[Path, str]) -> None:
    _, url = app
    assert cli("check", "--db", url).returncode == 0
    assert json.loads(cli("counts", "--db", url).stdout) == {"orders": 5, 'odd "name"': 1}


@pytest.mark.slow
def test_bad_usage_exits_2() -> None:
    assert cli("check").returncode == 2
    result = cli("check", "--db", "mysql://root:hunter2@db/app")
    assert result.returncode == 2 and "unsupported" in result.stderr
    assert "hunter2" not in result.stderr


@pytest.mark.slow
def test_engine_mismatch_is_refused(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    backup = db.backup(url, tmp_path / "bk")[0]
    result = cli("restore", "--backup", str(backup), "--db", "postgresql://u@127.0.0.1:1/x")
    assert result.returncode == 2 and "sqlite backup" in result.stderr


@pytest.mark.slow
def test_switch_endpoint_and_back(tmp_path: Path) -> None:
    config = tmp_path / "service.env"
    config.write_text("PORT=8080\nDATABASE_URL=sqlite:///primary.db\n")
    standby = "postgresql://app:s3cret@standby:5432/app"
    result = cli("switch", "--config", str(config), "--db", standby, "--key", "DATABASE_URL")
    assert result.returncode == 0 and "s3cret" not in result.stdout
    assert config.read_text() == f"PORT=8080\nDATABASE_URL={standby}\n"
    assert config.stat().st_mode & 0o777 == 0o600
    assert cli("switch", "--config", str(config), "--back").returncode == 0
    assert config.read_text() == "PORT=8080\nDATABASE_URL=sqlite:///primary.db\n"
    assert cli("switch", "--config", str(config), "--back").returncode == 1


@pytest.mark.slow
def test_drop_removes_scratch_and_pre_restore(app: tuple[Path, str], tmp_path: Path) -> None:
    path, url = app
    db.restore(db.backup(url, tmp_path / "bk")[0], url, force=True)
    assert cli("drop", "--db", url).returncode == 0
    assert not path.exists() and not Path(f"{path}.pre-restore").exists()


@pytest.mark.slow
def test_file_size_limit_leaves_no_backup(tmp_path: Path) -> None:
    """A full disk, for real: the kernel refuses writes past ``ulimit -f``."""
    big = tmp_path / "big.db"
    conn = sqlite3.connect(big)
    conn.execute("CREATE TABLE blobs (b BLOB)")
    conn.executemany("INSERT INTO blobs VALUES (?)", [(os.urandom(1000),)] * 500)
    conn.commit()
    conn.close()
    dest = tmp_path / "bk"
    command = (
        f'trap "" XFSZ; ulimit -f 200; exec {sys.executable} -m opsbooks_playbooks.actions.db '
        f"backup --db sqlite:///{big} --dest {dest}"
    )
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "failed" in result.stderr
    assert list(dest.iterdir()) == []


def test_recovery_record_uses_the_watermark(app: tuple[Path, str], tmp_path: Path) -> None:
    _, url = app
    backup, _, _ = db.backup(url, tmp_path / "bk", watermark_sql="SELECT max(at) FROM orders")
    later = dt.datetime(2026, 11, 28, 11, 4, tzinfo=dt.UTC)
    record = db.recovery_record(tmp_path / "bk", now=lambda: later)
    assert record["backup"] == str(backup)
    assert record["recovery_point"] == "2026-11-28T10:04:00Z"
    assert record["rpo_seconds"] == 3600 and record["rpo_measured_to"] == "now"
    exact = db.recovery_record(tmp_path / "bk", last_write_at="2026-11-28T10:04:42Z")
    assert exact["rpo_seconds"] == 42 and exact["rpo_measured_to"] == "last write"
    assert db.recovery_report(exact).endswith("\n::metric rpo_seconds=42.0")
    with pytest.raises(db.DbUsageError, match="not an ISO 8601 time"):
        db.recovery_record(tmp_path / "bk", last_write_at="yesterday")
    with pytest.raises(db.DbError, match="no verified backup"):
        db.recovery_record(tmp_path / "bk", verified_only=True)
