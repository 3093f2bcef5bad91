"""Two journal connections in one process keep their SQLite locks (the lease heartbeat).

Closing any descriptor of an SQLite file drops every POSIX lock the process holds on it.
Opening the journal used to open and close ``journal.db`` to make it private, so the
heartbeat's second connection dropped the runner's locks: another process that then
opened and closed the journal believed it was the last one, checkpointed and deleted
the WAL the runner still wrote to, and every later commit went to an unlinked file
(the seal caught it: "lost committed writes"). These tests run that sequence against
real SQLite files and a second real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import RunRecord, open_journal

pytestmark = pytest.mark.slow

OTHER_PROCESS = (
    "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
    'db.execute("SELECT count(*) FROM meta").fetchone(); db.close()'
)
COUNT = (
    "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); "
    'print(db.execute("SELECT count(*) FROM transitions").fetchone()[0])'
)


def test_a_second_connection_in_the_process_leaves_the_wal_in_place(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    first = open_journal(f"sqlite:///{path}")
    first.create_run(
        RunRecord(
            id="r1", runbook="demo.book", fingerprint="f", params={}, options={},
            who="me", host="h", pid=os.getpid(), started_at=1.0,
        )
    )  # fmt: skip
    first.record("r1", "s0", StepStatus.RUNNING, at=2.0)
    second = open_journal(f"sqlite:///{path}")  # as the heartbeat opens its own
    try:
        subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(path)], check=True)
        assert Path(f"{path}-wal").exists(), "another process deleted the WAL in use"
        first.record("r1", "s0", StepStatus.SUCCEEDED, at=3.0)
        seen = subprocess.run(
            [sys.executable, "-c", COUNT, str(path)], check=True, capture_output=True, text=True
        )
        assert int(seen.stdout) >= 2, "a commit went to an unlinked WAL"
    finally:
        second.close()
        first.close()
    reopened = open_journal(f"sqlite:///{path}")  # the seal agrees with what is held
    reopened.close()


def test_making_the_journal_private_still_tightens_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    open_journal(f"sqlite:///{path}").close()
    path.chmod(0o644)
    open_journal(f"sqlite:///{path}").close()
    assert path.stat().st_mode & 0o777 == 0o600
