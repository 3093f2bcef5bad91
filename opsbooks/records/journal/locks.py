"""Who may take a runbook's lock: a pure decision over the holder, the requester and --force.

The journal reads the holder and writes the outcome inside one cross-process
transaction; what to do in between is decided here, from values only, so every branch
is a fast unit test. The rules, in order:

1. No holder: take it.
2. A holder on another host: refuse, with or without ``--force``, while its lease is
   fresh or it has none. Only that host can tell whether its process still runs (a
   journal shared through PostgreSQL or a network file system), and taking the lock of
   a live run would run its steps twice. A holder whose lease expired (its runner
   stopped renewing it, :class:`LeaseView`) is gone, on any host: rules 3 and 5 apply
   as for a dead process here.
3. The same run on this host: take it if it is this very process (re-entry) or its
   process is gone (a resume after a crash); refuse while that process is alive.
   On this host the pid is authoritative: a live pid with an expired lease is a hung
   runner, refused (and said so), never taken.
4. Another run on this host whose process is alive: refuse; ``--force`` never takes the
   lock of a live process.
5. Another run on this host whose process is gone: refuse and say it crashed, unless
   ``--force`` asks to take it over (the runner then marks the crashed run interrupted).

Liveness that is not known (``None``) is never taken for "gone".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from opsbooks.errors import LockHeld
from opsbooks.records.identity import HostIdentity

__all__ = [
    "LEASE_MARGIN",
    "LeaseView",
    "LockDecision",
    "LockHolder",
    "Refusal",
    "Requester",
    "Verdict",
    "decide",
    "holder_liveness",
]


class LockHolder(NamedTuple):
    """The run that holds a runbook's lock, as the ``locks`` table records it."""

    run_id: str
    pid: int
    host: str
    since: float


#: How much longer than its lease a beat may be late before the holder counts as gone,
#: as a fraction of the lease: room for a slow write and for clock skew between writers.
LEASE_MARGIN = 0.5


class LeaseView(NamedTuple):
    """A lock's lease as the journal reads it: whose, and how old its last beat is.

    ``age`` is measured by the journal's own clock (the database server's for
    PostgreSQL), never by comparing two machines' clocks.
    """

    run_id: str
    host: str
    age: float
    lease: float

    @property
    def expired(self) -> bool:
        """Whether the holder missed its beats for longer than the lease and the margin."""
        return self.age > self.lease * (1 + LEASE_MARGIN)

    @property
    def expires_in(self) -> float:
        """Seconds until the lease counts as expired (0 once it has)."""
        return max(0.0, self.lease * (1 + LEASE_MARGIN) - self.age)

    def of(self, holder: LockHolder) -> bool:
        """Whether this lease belongs to ``holder`` (a lease row outlives no lock)."""
        return self.run_id == holder.run_id and self.host == holder.host


class Requester(NamedTuple):
    """The run asking for the lock, and the process it runs in."""

    run_id: str
    pid: int
    host: str


class Verdict(Enum):
    TAKE = "take"
    TAKE_OVER = "take over"
    REFUSE = "refuse"


class Refusal(Enum):
    """Why the lock is refused; each reason is one message of :class:`LockHeld`."""

    HELD = "held by a live run"
    CRASHED = "held by a crashed run, without --force"
    FORCED_ALIVE = "--force against a live run"
    OTHER_HOST = "held from another host"
    HUNG = "held by a live process that stopped renewing its lease"


@dataclass(frozen=True)
class LockDecision:
    """What to do with the lock; ``holder`` is the previous holder, if any."""

    verdict: Verdict
    holder: LockHolder | None = None
    refusal: Refusal | None = None
    lease: LeaseView | None = None

    @property
    def taken(self) -> bool:
        return self.verdict is not Verdict.REFUSE

    def error(self, runbook: str) -> LockHeld:
        """The operator's message for a refusal: who holds the lock and what to do."""
        if self.holder is None or self.refusal is None:
            raise ValueError(f"the lock of {runbook} was not refused")
        run_id, pid, host, _ = self.holder
        return LockHeld(
            runbook,
            run_id,
            pid,
            host,
            alive=_ALIVE[self.refusal],
            forced=self.refusal is Refusal.FORCED_ALIVE,
            elsewhere=self.refusal is Refusal.OTHER_HOST,
            renewed=None if self.lease is None else (self.lease.age, self.lease.expires_in),
            hung=self.refusal is Refusal.HUNG,
        )


_ALIVE: dict[Refusal, bool | None] = {
    Refusal.HELD: True,
    Refusal.CRASHED: False,
    Refusal.FORCED_ALIVE: True,
    Refusal.OTHER_HOST: None,
    Refusal.HUNG: True,
}


def decide(
    holder: LockHolder | None,
    requester: Requester,
    *,
    force: bool,
    holder_alive: bool | None,
    lease: LeaseView | None = None,
) -> LockDecision:
    """Decide whether ``requester`` takes the lock ``holder`` has (see the module rules).

    ``holder_alive`` is this host's answer for the holder's pid: ``None`` when it cannot
    know (no holder, or a holder on another host). ``lease`` is the lock's lease row, if
    the journal has one; a lease of another run or host is ignored.
    """
    if holder is None:
        return LockDecision(Verdict.TAKE)
    held = lease if lease is not None and lease.of(holder) else None
    if holder.host != requester.host:
        if held is None or not held.expired:
            return LockDecision(Verdict.REFUSE, holder, Refusal.OTHER_HOST, held)
        holder_alive = False  # it stopped renewing: gone, without asking its host
    gone = holder_alive is False
    if holder.run_id == requester.run_id and (holder.pid == requester.pid or gone):
        return LockDecision(Verdict.TAKE, holder, lease=held)
    if not gone:
        refusal = Refusal.FORCED_ALIVE if force else Refusal.HELD
        if held is not None and held.expired:
            refusal = Refusal.HUNG
        return LockDecision(Verdict.REFUSE, holder, refusal, held)
    if force:
        return LockDecision(Verdict.TAKE_OVER, holder, lease=held)
    return LockDecision(Verdict.REFUSE, holder, Refusal.CRASHED, held)


def holder_liveness(holder: LockHolder | None, identity: HostIdentity) -> bool | None:
    """Ask ``identity`` whether the holder's process runs, only where it can know: here."""
    if holder is None or holder.host != identity.name():
        return None
    return identity.is_alive(holder.pid)
