"""Who may take a runbook's lock: a pure decision over the holder, the requester and --force.

The journal reads the holder and writes the outcome inside one cross-process
transaction; what to do in between is decided here, from values only, so every branch
is a fast unit test. The rules, in order:

1. No holder: take it.
2. A holder on another host: refuse, with or without ``--force``. Only that host can
   tell whether its process still runs (a journal shared through PostgreSQL or a network
   file system), and taking the lock of a live run would run its steps twice.
3. The same run on this host: take it if it is this very process (re-entry) or its
   process is gone (a resume after a crash); refuse while that process is alive.
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


@dataclass(frozen=True)
class LockDecision:
    """What to do with the lock; ``holder`` is the previous holder, if any."""

    verdict: Verdict
    holder: LockHolder | None = None
    refusal: Refusal | None = None

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
        )


_ALIVE: dict[Refusal, bool | None] = {
    Refusal.HELD: True,
    Refusal.CRASHED: False,
    Refusal.FORCED_ALIVE: True,
    Refusal.OTHER_HOST: None,
}


def decide(
    holder: LockHolder | None,
    requester: Requester,
    *,
    force: bool,
    holder_alive: bool | None,
) -> LockDecision:
    """Decide whether ``requester`` takes the lock ``holder`` has (see the module rules).

    ``holder_alive`` is this host's answer for the holder's pid: ``None`` when it cannot
    know (no holder, or a holder on another host).
    """
    if holder is None:
        return LockDecision(Verdict.TAKE)
    if holder.host != requester.host:
        return LockDecision(Verdict.REFUSE, holder, Refusal.OTHER_HOST)
    gone = holder_alive is False
    if holder.run_id == requester.run_id and (holder.pid == requester.pid or gone):
        return LockDecision(Verdict.TAKE, holder)
    if not gone:
        return LockDecision(Verdict.REFUSE, holder, Refusal.FORCED_ALIVE if force else Refusal.HELD)
    if force:
        return LockDecision(Verdict.TAKE_OVER, holder)
    return LockDecision(Verdict.REFUSE, holder, Refusal.CRASHED)


def holder_liveness(holder: LockHolder | None, identity: HostIdentity) -> bool | None:
    """Ask ``identity`` whether the holder's process runs, only where it can know: here."""
    if holder is None or holder.host != identity.name():
        return None
    return identity.is_alive(holder.pid)
