"""Issue 13 items 12, 14 and 16 through the real CLI: injection, argv secrets, private files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from opsbooks.errors import JournalError
from opsbooks.records.audit import AuditLog
from opsbooks.records.journal.sqlite import open_sqlite
from opsbooks.records.redaction import Redactor

pytestmark = pytest.mark.slow  # the CLI in subprocesses

OPSBOOKS = str(Path(sys.executable).with_name("opsbooks"))


def _cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPSBOOKS, *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_option_injection_in_deploy_is_refused_before_any_step(tmp_path: Path) -> None:
    result = _cli(
        tmp_path, "run", "release.deploy", "--version", "1.4.0", "--repo", "/r",
        "--feed-dir", "/f", "--base-url", "https://x", "--dist-dir", "/d",
        "--remote", "--upload-pack=touch pwned", "--yes",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "--remote: must not start with '-'" in result.stderr
    assert "nothing was run" in result.stderr
    assert not list(tmp_path.rglob("pwned"))


def _sample_cmdlines(stop: threading.Event, seen: list[str]) -> None:
    me = os.getpid()
    while not stop.is_set():
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                seen.append((entry / "cmdline").read_bytes().decode(errors="replace"))
                seen.append("ENV:" + (entry / "environ").read_bytes().decode(errors="replace"))
            except OSError:
                continue


def test_backup_run_never_puts_the_database_url_on_argv(tmp_path: Path) -> None:
    canary = "C4N4RY-s3cret"
    source = tmp_path / canary / "src.db"
    source.parent.mkdir()
    with sqlite3.connect(source) as db:
        db.execute("create table t(a)")
        db.execute("insert into t values (1)")
    seen: list[str] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_cmdlines, args=(stop, seen), daemon=True)
    sampler.start()
    try:
        result = _cli(
            tmp_path, "run", "backup.run", "--dest", str(tmp_path / "bk"), "--yes",
            env={"OPSBOOKS_SECRET_DB": f"sqlite:///{source}"},
        )  # fmt: skip
    finally:
        stop.set()
        sampler.join()
    assert result.returncode == 0, result.stdout + result.stderr
    argv = [line for line in seen if not line.startswith("ENV:")]
    assert any("opsbooks_playbooks.actions.db" in line for line in argv), "no child was sampled"
    assert not [line for line in argv if canary in line]
    children = [line for line in seen if line.startswith("ENV:") and "DB_URL=" in line]
    assert children, "no child environment was sampled"
    assert not [line for line in children if "OPSBOOKS_SECRET_DB" in line]


def test_state_folder_journal_and_audit_are_private(tmp_path: Path) -> None:
    open_sqlite(tmp_path / "state" / "journal.db")
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o700
    for path in (tmp_path / "state").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    audit = AuditLog(tmp_path / "state" / "runs" / "r1.jsonl", "r1", Redactor([]))
    audit.write("run_started")
    audit.close()
    assert (tmp_path / "state" / "runs").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "state" / "runs" / "r1.jsonl").stat().st_mode & 0o777 == 0o600


def test_an_older_0644_journal_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    open_sqlite(path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_symlinked_journal_or_audit_file_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    state = tmp_path / "state"
    (state / "runs").mkdir(parents=True)
    (state / "journal.db").symlink_to(victim)
    with pytest.raises(JournalError, match="symbolic link"):
        open_sqlite(state / "journal.db")
    (state / "runs" / "r1.jsonl").symlink_to(victim)
    with pytest.raises(JournalError, match="symbolic link"):
        AuditLog(state / "runs" / "r1.jsonl", "r1", Redactor([]))
    (state / "journal.db").unlink()
    (state / "journal.db-wal").symlink_to(victim)
    with pytest.raises(JournalError, match="symbolic link"):
        open_sqlite(state / "journal.db")
    assert victim.read_text() == "keep me"


def test_a_run_id_from_the_journal_cannot_name_a_file_outside_runs(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="outside its folder"):
        AuditLog(tmp_path / "runs" / "x.jsonl", "../../victim", Redactor([]))


def test_feed_remove_never_deletes_outside_the_feed(tmp_path: Path) -> None:
    feed, victim = tmp_path / "feed", tmp_path / "victim.txt"
    feed.mkdir()
    victim.write_text("keep me")
    release = {
        "version": "1.0.0", "date": "2026-01-01", "url": "https://x/v", "file": "../victim.txt",
        "size": 7, "sha256": "0" * 64,
    }  # fmt: skip
    (feed / "feed.json").write_text(
        json.dumps({"title": "t", "latest": "1.0.0", "releases": [release]})
    )
    done = subprocess.run(
        [sys.executable, "-m", "opsbooks_playbooks.actions.feed", "remove", "--feed-dir", str(feed),
         "--version", "1.0.0"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "not a plain file name" in done.stderr
    assert victim.read_text() == "keep me"
