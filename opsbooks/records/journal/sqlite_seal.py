"""The seal of an SQLite journal: how many commits it holds, kept outside its WAL.

A committed transaction lives in the ``-wal`` file until a checkpoint copies it into the
main file, so a WAL deleted after a crash (by hand, or a backup that copied only
``journal.db``) takes every commit since the last checkpoint with it, and SQLite opens
what is left without a word. Checkpointing after every commit closed that hole at three
extra fsyncs per commit; the seal closes it by detection, at one fsync per barrier
(below): every write transaction counts itself in ``meta.commits`` (inside the
transaction), and once it is committed the count is written to ``journal.db-seal``. On open, a
journal whose count is below its seal's has lost committed writes, and is refused with
what to do (:func:`check_seal`) instead of being read as if nothing had happened.

The count is written (``pwrite``) after every commit, but ``fdatasync``-ed only at a
*barrier*: before something acts on the journal's state. The journal makes every write a
barrier except the results of work already done (a step's ``succeeded``, ``failed``,
``skipped`` or ``stopped``, hosts' results); so the seal is synced with a step's
``running`` or ``compensating`` transition (before its effect starts), with every other
write (a run's start and end, locks, gates, facts, an audit anchor of its own), before a
question waits for a person (``Journal.barrier``), and at close. A written seal reaches
every later reader through the page cache, so a process killed at any point, its WAL
deleted afterwards, is refused at open whatever was synced; only a power loss (or a kernel
crash) can drop an unsynced seal.

What the user gets: a commit made before the last barrier is either in the journal or
its loss is refused at open. What can vanish unnoticed, and only if the machine loses
power and the WAL is lost too, are the commits after the last barrier: the results of
the step in flight, whose effect has already happened (and the last commit, if the
process died between its ``COMMIT`` and its seal, as before). The journal then holds
that step as ``running``: resume sees it in flight and re-runs it, or asks a person when
it is not idempotent, exactly the state a crash in the middle of that step leaves (the
audit file then holds that step's last line past the anchor, the one line ``audit
verify`` tolerates). A check that refuses is never weakened: the window only decides
whether a lost WAL is noticed. The seal carries the journal's id, so a journal moved
aside (a fresh one started in its place) does not inherit its count.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path
from typing import Any, Protocol

from opsbooks.errors import JournalError
from opsbooks.records.files import refuse_symlink, tighten

__all__ = ["BUMP", "Seal", "check_seal", "journal_id", "seal_path"]

#: Count a write transaction inside it, and say the count (SQLite >= 3.35: RETURNING).
BUMP = (
    "INSERT INTO meta (key, value) VALUES ('commits', '1') ON CONFLICT (key) DO UPDATE"
    " SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)"
)

#: ``<journal id> <count>``, fixed width, so a rewrite in place never leaves a tail
_WIDTH = 20


class _Db(Protocol):
    def execute(self, sql: str, params: Any = (), /) -> Any: ...


def seal_path(path: Path) -> Path:
    return Path(f"{path}-seal")


def journal_id(db: _Db) -> str:
    """The journal's id, made (and checkpointed into the main file) on first use.

    The checkpoint makes the id survive a lost WAL, so a seal is never mistaken for
    another journal's after the one it belongs to lost its WAL.
    """
    row = db.execute("SELECT value FROM meta WHERE key='journal_id'").fetchone()
    if row is not None:
        return str(row[0])
    made = uuid.uuid4().hex
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('journal_id', ?)", (made,))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return str(db.execute("SELECT value FROM meta WHERE key='journal_id'").fetchone()[0])


def _read(fd: int) -> tuple[str, int]:
    text = os.pread(fd, 128, 0).decode("ascii", "replace").split()
    if len(text) != 2 or not text[1].isdigit():
        return "", 0
    return text[0], int(text[1])


class Seal:
    """The ``-seal`` file of one journal connection, written after each commit."""

    def __init__(self, path: Path, ident: str) -> None:
        self.path = path
        self.ident = ident
        refuse_symlink(path, "journal seal")
        made = not os.path.lexists(path)
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            self._fd: int | None = os.open(path, flags, 0o600)
        except OSError as exc:
            raise JournalError(
                f"the journal seal {path} cannot be opened ({exc.strerror}); fix the "
                f"folder's permissions, then run again"
            ) from None
        tighten(self._fd)
        self._unsynced = False  # a count written since the last fdatasync
        if made:  # the seal's own directory entry survives a power loss too
            folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)

    def read(self) -> tuple[str, int]:
        return ("", 0) if self._fd is None else _read(self._fd)

    def write(self, count: int) -> None:
        """Raise the seal to ``count`` (never lower it: another process may be ahead).

        Written, not synced: :meth:`sync` makes it durable at the next barrier.
        """
        if self._fd is None:
            return
        self._unsynced = True  # even when another process wrote it: that one may not sync
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            ident, sealed = _read(self._fd)
            if ident == self.ident and sealed >= count:
                return
            os.pwrite(self._fd, f"{self.ident} {count:0{_WIDTH}d}\n".encode(), 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def sync(self) -> None:
        """A barrier: make the seal of every commit so far durable (one ``fdatasync``)."""
        if self._fd is None or not self._unsynced:
            return
        os.fdatasync(self._fd)
        self._unsynced = False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def check_seal(db: _Db, seal: Seal, where: str) -> None:
    """Refuse a journal holding fewer commits than its seal says were made."""
    ident, sealed = seal.read()
    if ident != seal.ident:  # no seal yet, or another (moved aside) journal's
        return
    row = db.execute("SELECT value FROM meta WHERE key='commits'").fetchone()
    held = int(row[0]) if row is not None and str(row[0]).isdigit() else 0
    if held >= sealed:
        return
    raise JournalError(
        f"the journal at {where} has lost committed writes: it holds {held} commits but "
        f"its seal ({seal.path}) says {sealed} were made, so its WAL file ({where}-wal) "
        f"was deleted or replaced after a crash. Nothing was read or changed. Put the "
        f"-wal file back if you have it (stop every opsbooks process first), or restore "
        f"the journal from a backup; to go on with what is left (runs and steps may be "
        f"missing, and a run may repeat a step it had done), delete {seal.path}."
    )
