"""Who is asking: this host's name, this process's pid, and whether a pid still runs.

A protocol, not a call to ``socket`` or ``os``: the lock decision and the journal ask
through it, so tests can stage any holder (a live process here, a crashed one, another
host) without real processes, and only ``opsbooks.edges.identity`` reads the machine.
"""

from __future__ import annotations

from typing import Protocol


class HostIdentity(Protocol):
    """The three facts about the running process that a lock decision needs."""

    def name(self) -> str:
        """Return this host's name, as recorded in the journal's runs and locks."""
        ...

    def pid(self) -> int:
        """Return this process's id."""
        ...

    def is_alive(self, pid: int) -> bool:
        """Say whether process ``pid`` still runs on this host (only this host can tell)."""
        ...
