"""The journal: the durable record of runs that resume, history and reports trust.

Open one with :func:`open_journal`; use it through the :class:`Journal` protocol. The
backend follows the URL: ``sqlite:///PATH`` (or a bare path) for a file, the default;
``postgresql://USER@HOST:PORT/DB`` for a journal shared by several hosts.
"""

from __future__ import annotations

from opsbooks.records.identity import HostIdentity
from opsbooks.records.journal.locks import LeaseView, LockHolder
from opsbooks.records.journal.protocol import Journal
from opsbooks.records.journal.records import (
    ApprovalRecord,
    FactRecord,
    GateRecord,
    HostRecord,
    RunRecord,
    Transition,
)
from opsbooks.records.journal.sqlite import open_sqlite, sqlite_path

__all__ = [
    "ApprovalRecord",
    "FactRecord",
    "GateRecord",
    "HostRecord",
    "Journal",
    "LeaseView",
    "LockHolder",
    "RunRecord",
    "Transition",
    "open_journal",
    "sqlite_path",
]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_journal(
    url: str, *, identity: HostIdentity | None = None, lease: float | None = None
) -> Journal:
    """Open the journal at ``url``, creating its tables if needed.

    ``identity`` (this host and process; ``opsbooks.edges.identity.LocalIdentity`` in
    production) is needed to take runbook locks; a journal opened without one reads and
    records, and refuses to take a lock. ``lease`` (seconds) makes every lock it takes
    a lease that the holder renews (``renew_lease``) and others judge by its age; without
    it no lease row is written and another host's holder is always refused.
    """
    if url.startswith(_POSTGRES_SCHEMES):
        # lazy: a SQLite journal (the default) never needs the PostgreSQL dialect
        from opsbooks.records.journal.postgres import open_postgres

        return open_postgres(url, identity=identity, lease=lease)
    return open_sqlite(sqlite_path(url), identity=identity, lease=lease)
