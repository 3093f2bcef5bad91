"""Open SSH connections kept for the length of a run, one borrower at a time.

The reachability probe before a run connects to every host; without a pool each
remote step then connected again, paying a second key exchange and authentication
per host (most of what a host costs: see docs/performance.md, "What the SSH fixes
bought"). A connection is lent to one caller (one thread) at a time and given back
when the call ends; one that failed mid-call is closed, never given back. A lent
connection that turns out dead before its command was sent is the caller's to replace
(``RemoteExecutor`` reconnects once). Nothing here imports fabric: the session makes a
pool for every run with remote steps and closes it when the run ends.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Protocol

from opsbooks.backends.hosts.inventory import Host


class _Closable(Protocol):
    @property
    def is_connected(self) -> bool: ...

    def close(self) -> None: ...


def pool_key(host: Host) -> tuple[str | int | None, ...]:
    """What makes two connections interchangeable: the same host, reached the same way."""
    return (host.name, host.address, host.port, host.user, host.key_file, host.jump)


class ConnectionPool:
    """Idle open connections by host; thread-safe. Closing it closes every idle one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple[Any, ...], list[_Closable]] = {}
        self._closed = False
        #: how many times an idle connection was lent again (for the bench and tests)
        self.reused = 0

    def take(self, host: Host) -> Any | None:
        """An idle connection to ``host`` that still looks alive, or None (open one)."""
        dead: list[_Closable] = []
        found: _Closable | None = None
        with self._lock:
            idle = self._idle.get(pool_key(host), [])
            while idle and found is None:
                conn = idle.pop()
                if conn.is_connected:
                    found = conn
                    self.reused += 1
                else:
                    dead.append(conn)
        for conn in dead:
            conn.close()
        return found

    def give(self, host: Host, conn: Any) -> None:
        """Keep ``conn`` (whose last call went through) for the next caller; a closed
        pool closes it instead."""
        with self._lock:
            if not self._closed and conn.is_connected:
                self._idle.setdefault(pool_key(host), []).append(conn)
                return
        conn.close()

    def close(self) -> None:
        """Close every idle connection; connections given back later are closed too."""
        with self._lock:
            self._closed = True
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
