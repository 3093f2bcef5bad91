"""The journal's runbook locks and their leases: at most one live run per runbook.

A mixin of :class:`opsbooks.records.journal.sql.SqlJournal`, kept apart so the core
(runs, transitions, gates) stays readable; it uses only the core's connection,
dialect, transactions and host identity.

A lease is the lock plus a heartbeat: the holder's runner renews ``lock_leases.beat_at``
while it runs (``opsbooks.edges.leases.Heartbeat``, on its own connection), and the
age of the last beat is computed by the database in the same statement that reads it
(``dialect.now``), so a judgement never compares two machines' clocks on PostgreSQL.
A lock without a lease row (an older opsbooks, a journal opened without ``lease``)
is decided as before: another host's holder is refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from opsbooks.errors import JournalError
from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal import schema
from opsbooks.records.journal.dialect import Connection, Dialect
from opsbooks.records.journal.locks import (
    LeaseView,
    LockHolder,
    Requester,
    decide,
    holder_liveness,
)
from opsbooks.records.journal.records import number

__all__ = ["LockRecords"]

_LEASE_INSERT = "runbook, run_id, host, beat_at, lease_s"


class LockRecords:
    """Locks and leases over the core's connection (see the module)."""

    dialect: Dialect
    where: str
    _db: Connection
    _q: str
    _identity: HostIdentity | None
    #: the lease this journal's lock holders keep, in seconds; ``None``: no lease rows
    _lease: float | None

    def _tx(self, exclusive: str | None = None) -> AbstractContextManager[None]:  # pragma: no cover
        raise NotImplementedError

    def _write(self, sql: str, args: Sequence[Any]) -> None:  # pragma: no cover - core's
        raise NotImplementedError

    def acquire_lock(self, runbook: str, run_id: str, *, at: float, force: bool = False) -> None:
        identity = self._lock_identity()
        requester = Requester(run_id, identity.pid(), identity.name())
        q = self._q
        with self._tx(exclusive=f"opsbooks:lock:{runbook}"):
            holder = self.lock_holder(runbook)
            alive = holder_liveness(holder, identity)
            lease = self.lock_lease(runbook)
            decision = decide(holder, requester, force=force, holder_alive=alive, lease=lease)
            if not decision.taken:
                raise decision.error(runbook)
            self._db.execute(
                self.dialect.upsert(schema.table("locks"), "runbook"),
                (runbook, run_id, requester.pid, requester.host, at),
            )
            self._db.execute(f"DELETE FROM lock_leases WHERE runbook={q}", (runbook,))
            if self._lease is not None:
                self._db.execute(
                    f"INSERT INTO lock_leases ({_LEASE_INSERT}) "
                    f"VALUES ({q}, {q}, {q}, {self.dialect.now}, {q})",
                    (runbook, run_id, requester.host, self._lease),
                )

    def _lock_identity(self) -> HostIdentity:
        if self._identity is None:
            raise JournalError(
                f"the journal at {self.where} was opened without a host identity, so it "
                f"cannot take a lock: open it with open_journal(url, identity=...) "
                f"(opsbooks.edges.identity.LocalIdentity is this machine)."
            )
        return self._identity

    def release_lock(self, runbook: str, run_id: str) -> None:
        q = self._q
        with self._tx():
            for table in ("lock_leases", "locks"):
                self._db.execute(
                    f"DELETE FROM {table} WHERE runbook={q} AND run_id={q}", (runbook, run_id)
                )

    def lock_holder(self, runbook: str) -> LockHolder | None:
        row = self._db.execute(
            f"SELECT run_id, pid, host, acquired_at FROM locks WHERE runbook={self._q}",
            (runbook,),
        ).fetchone()
        if row is None:
            return None
        return LockHolder(row[0], int(number(row[1], "lock holder pid")), row[2], row[3])

    def lock_lease(self, runbook: str) -> LeaseView | None:
        row = self._db.execute(
            f"SELECT run_id, host, {self.dialect.now} - beat_at, lease_s FROM lock_leases "
            f"WHERE runbook={self._q}",
            (runbook,),
        ).fetchone()
        if row is None:
            return None
        age = number(row[2], "lease age")
        return LeaseView(row[0], row[1], max(0.0, float(age)), float(row[3]))

    def renew_lease(self, runbook: str, run_id: str, *, pid: int, host: str) -> bool:
        """Beat: renew the lease of ``run_id`` if this process (``pid`` on ``host``) holds
        the lock; say whether it did (False before the lock is taken and after release)."""
        q = self._q
        with self._tx():
            row = self._db.execute(
                f"SELECT 1 FROM locks WHERE runbook={q} AND run_id={q} AND pid={q} AND host={q}",
                (runbook, run_id, pid, host),
            ).fetchone()
            if row is None:
                return False
            self._db.execute(
                f"UPDATE lock_leases SET beat_at={self.dialect.now} "
                f"WHERE runbook={q} AND run_id={q} AND host={q}",
                (runbook, run_id, host),
            )
        return True
