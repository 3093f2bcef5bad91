"""A WAL lost after a crash is detected at open, not silently read as a shorter journal.

The SQLite journal counts its commits in ``meta.commits`` and seals the count in
``journal.db-seal`` after each commit (``records/journal/sqlite_seal.py``). These tests
lose a WAL the way it happens (a copy of the folder without ``-wal``, a file removed
while a writer still held it) and check the journal refuses to open, that the
refusal says what to do, and that a clean close, a fresh journal in the place of one
moved aside, or a deleted seal open normally.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import pytest

from opsbooks.errors import JournalError
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import Journal, RunRecord, open_journal

S = StepStatus


def _open(path: Path) -> Journal:
    return open_journal(f"sqlite:///{path}")


def _write(j: Journal, run_id: str, steps: int = 3) -> None:
    j.create_run(
        RunRecord(
            id=run_id, runbook="demo.book", fingerprint="f", params={}, options={},
            who="me", host="h", pid=1, started_at=1.0,
        )
    )  # fmt: skip
    for index in range(steps):
        j.record(run_id, f"s{index}", S.RUNNING, at=2.0)
        j.record(run_id, f"s{index}", S.SUCCEEDED, at=3.0)


def _copy_without_wal(path: Path, to: Path) -> Path:
    """What a backup of only ``journal.db`` (and its seal) taken mid-run holds."""
    to.mkdir(mode=0o700)
    for suffix in ("", "-seal"):
        shutil.copy2(f"{path}{suffix}", f"{to / path.name}{suffix}")
    return to / path.name


def test_a_journal_that_lost_its_wal_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    writer = _open(path)
    _write(writer, "r1")
    assert Path(f"{path}-wal").stat().st_size > 0  # the commits are in the WAL only
    copy = _copy_without_wal(path, tmp_path / "copy")
    with pytest.raises(JournalError) as refused:
        _open(copy)
    said = str(refused.value)
    assert "lost committed writes" in said and f"{copy}-seal" in said
    assert "Traceback" not in said and "\n" not in said
    writer.close()


def test_the_writer_that_lost_its_wal_is_refused_by_every_later_open(tmp_path: Path) -> None:
    """The WAL removed while the process that wrote it is gone (killed): refused."""
    path = tmp_path / "journal.db"
    writer = _open(path)
    _write(writer, "r1")
    copy = _copy_without_wal(path, tmp_path / "copy")
    writer.close()
    for _ in range(2):  # refusing changed nothing: refused again
        with pytest.raises(JournalError, match="lost committed writes"):
            _open(copy)


def test_deleting_the_seal_opens_what_is_left(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    writer = _open(path)
    _write(writer, "r1")
    copy = _copy_without_wal(path, tmp_path / "copy")
    writer.close()
    Path(f"{copy}-seal").unlink()
    left = _open(copy)
    assert left.runs() == []  # the run was in the lost WAL: gone, as the message warned
    _write(left, "r2", steps=1)
    left.close()
    assert [r.id for r in _open(copy).runs()] == ["r2"]


def test_a_cleanly_closed_journal_opens_with_everything(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    for run_id in ("r1", "r2"):
        j = _open(path)
        _write(j, run_id)
        j.close()
        assert not Path(f"{path}-wal").exists()  # the last close checkpointed it
    j = _open(path)
    assert sorted(r.id for r in j.runs()) == ["r1", "r2"]
    assert len(j.transitions("r2")) == 6
    j.close()


def test_a_fresh_journal_in_the_place_of_one_moved_aside_is_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    j = _open(path)
    _write(j, "r1")
    j.close()
    path.rename(tmp_path / "old.db")  # the seal stays behind, holding the old journal's id
    fresh = _open(path)
    assert fresh.runs() == []
    _write(fresh, "r2", steps=1)
    fresh.close()
    assert [r.id for r in _open(path).runs()] == ["r2"]


def test_with_two_writers_open_a_lost_wal_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    first, second = _open(path), _open(path)
    _write(first, "r1")
    _write(second, "r2")
    _write(first, "r3", steps=1)
    copy = _copy_without_wal(path, tmp_path / "copy")
    with pytest.raises(JournalError, match="lost committed writes"):
        _open(copy)
    first.close()
    second.close()
    j = _open(path)
    assert sorted(r.id for r in j.runs()) == ["r1", "r2", "r3"]
    j.close()


def test_the_seal_is_private(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    _open(path).close()
    mode = stat.S_IMODE(Path(f"{path}-seal").stat().st_mode)
    assert mode == 0o600


@pytest.fixture
def synced(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """What each ``fdatasync`` of a seal made durable: the image a power loss keeps."""
    images: list[bytes] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        real(fd)
        images.append(os.pread(fd, 128, 0))

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    return images


def _checkpoint(path: Path) -> None:
    """SQLite's own checkpoint (every 1,000 pages, or another connection's close)."""
    with closing(sqlite3.connect(path)) as other:
        other.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _power_loss_copy(path: Path, to: Path, durable_seal: bytes) -> Path:
    """The journal without its WAL, and the seal as the disk held it at its last sync."""
    copy = _copy_without_wal(path, to)
    Path(f"{copy}-seal").write_bytes(durable_seal)
    return copy


def test_after_a_power_loss_a_steps_lost_result_leaves_it_in_flight(
    tmp_path: Path, synced: list[bytes]
) -> None:
    """The window the seal leaves: results committed after the last barrier.

    ``running`` is a barrier (the seal synced before the effect starts); ``succeeded``
    is written to the seal but not synced. A power loss that drops that write, then a
    lost WAL, leaves the step ``running``: resume sees it in flight, as after a crash
    in the middle of the step, never as done.
    """
    path = tmp_path / "journal.db"
    writer = _open(path)
    _write(writer, "r1", steps=1)
    writer.record("r1", "s1", S.RUNNING, at=4.0)  # a barrier: this seal is on disk
    _checkpoint(path)  # the journal file holds everything up to the barrier
    writer.record("r1", "s1", S.SUCCEEDED, at=5.0)  # sealed in the page cache only
    assert Path(f"{path}-seal").read_bytes() != synced[-1]
    copy = _power_loss_copy(path, tmp_path / "copy", synced[-1])
    left = _open(copy)
    assert left.step_status("r1", "s1") is S.RUNNING
    assert left.step_status("r1", "s0") is S.SUCCEEDED
    left.close()
    writer.close()


def test_after_a_power_loss_commits_before_the_last_barrier_are_refused(
    tmp_path: Path, synced: list[bytes]
) -> None:
    """A lost WAL holding a barrier's commit is refused, whatever came after it."""
    path = tmp_path / "journal.db"
    writer = _open(path)
    _write(writer, "r1", steps=1)
    _checkpoint(path)
    writer.record("r1", "s1", S.RUNNING, at=4.0)  # in the WAL only, sealed and synced
    writer.record("r1", "s1", S.SUCCEEDED, at=5.0)
    copy = _power_loss_copy(path, tmp_path / "copy", synced[-1])
    with pytest.raises(JournalError, match="lost committed writes"):
        _open(copy)
    writer.close()


def test_without_a_power_loss_a_lost_result_is_refused_too(tmp_path: Path) -> None:
    """A killed process leaves its unsynced seal in the page cache: every commit counts."""
    path = tmp_path / "journal.db"
    writer = _open(path)
    _write(writer, "r1", steps=1)
    writer.record("r1", "s1", S.RUNNING, at=4.0)
    _checkpoint(path)
    writer.record("r1", "s1", S.SUCCEEDED, at=5.0)  # the result alone is in the WAL
    copy = _copy_without_wal(path, tmp_path / "copy")
    with pytest.raises(JournalError, match="lost committed writes"):
        _open(copy)
    writer.close()


def test_a_barrier_and_a_close_sync_the_seal_of_every_result(
    tmp_path: Path, synced: list[bytes]
) -> None:
    """Before a person is asked (``Journal.barrier``) and at close, results are sealed."""
    path = tmp_path / "journal.db"
    for finish in ("barrier", "close"):
        writer = _open(path)
        _write(writer, f"r-{finish}", steps=1)
        assert Path(f"{path}-seal").read_bytes() != synced[-1]  # the result: not synced
        writer.barrier() if finish == "barrier" else writer.close()
        assert Path(f"{path}-seal").read_bytes() == synced[-1]
        if finish == "barrier":
            writer.close()
