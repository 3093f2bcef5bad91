"""The lease heartbeat: while a run holds its runbook's lock, renew the lock's lease.

A lock alone cannot say, from another host, whether its holder still runs; a lease
can (``opsbooks.records.journal.locks``): the holder renews ``beat_at`` every third of
the lease, and a holder whose last beat is older than the lease (and a margin) is gone,
on any host. The beat is a daemon thread with its OWN journal connection (sqlite3 and
psycopg connections belong to one thread), opened at the first beat, writing only the
lease row, and only while this process holds the lock (``renew_lease`` checks the
pid). It beats on time, never per step. A failed beat (disk full, database gone) is
said once on stderr and retried at the next beat; it never stops the run: a run that
cannot renew may lose its lock to a resume elsewhere, which the operator is told.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import IO

from opsbooks.errors import OpsbooksError
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import Journal, open_journal

__all__ = ["Heartbeat"]


class Heartbeat:
    """Renew ``run_id``'s lease on ``runbook`` every ``lease / 3`` seconds, in a thread."""

    def __init__(
        self,
        url: str,
        runbook: str,
        run_id: str,
        *,
        lease: float,
        identity: HostIdentity,
        stderr: IO[str] | None = None,
        opener: Callable[[str], Journal] = open_journal,
    ) -> None:
        self.url, self.runbook, self.run_id = url, runbook, run_id
        self.every = lease / 3
        self.beats = 0
        self._pid, self._host = identity.pid(), identity.name()
        self._stderr = stderr or sys.stderr
        self._open = opener
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._journal: Journal | None = None
        self._failing = False

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=15)  # a beat stuck connecting is a daemon: let it go

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                self.beat()
        finally:
            self._close()

    def beat(self) -> None:
        """Renew once; a failure is said once, the connection dropped and retried."""
        try:
            if self._journal is None:
                self._journal = self._open(self.url)
            if self._journal.renew_lease(self.runbook, self.run_id, pid=self._pid, host=self._host):
                self.beats += 1
        except Exception as exc:  # a beat never ends the run: say it, retry next time
            self._close()
            if not self._failing:
                self._say(
                    f"opsbooks: cannot renew the lease of run {self.run_id} ({exc}); "
                    f"retrying every {self.every:g}s. If it stays down longer than the "
                    f"lease, another host may resume this run."
                )
            self._failing = True
            return
        if self._failing:
            self._say(f"opsbooks: the lease of run {self.run_id} is renewed again.")
            self._failing = False

    def _say(self, line: str) -> None:
        try:
            self._stderr.write(line + "\n")
            self._stderr.flush()
        except (OSError, ValueError):  # a closed or hung-up stream: the run goes on
            pass

    def _close(self) -> None:
        journal, self._journal = self._journal, None
        if journal is not None:
            with contextlib.suppress(OpsbooksError, OSError):
                journal.close()
