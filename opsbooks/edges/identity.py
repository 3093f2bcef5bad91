"""The real host identity: the host name from ``socket``, pids and liveness from ``os``.

``OPSBOOKS_HOST_ID`` names the host instead of ``socket.gethostname()``: for machines
whose host names collide (containers that all call themselves ``localhost``), and for
tests that stage two machines on one. It is recorded in runs, locks and leases.
"""

from __future__ import annotations

import os
import socket

__all__ = ["LocalIdentity"]


class LocalIdentity:
    """This machine and this process, as :class:`opsbooks.records.identity.HostIdentity`."""

    def name(self) -> str:
        return os.environ.get("OPSBOOKS_HOST_ID", "").strip() or socket.gethostname()

    def pid(self) -> int:
        return os.getpid()

    def is_alive(self, pid: int) -> bool:
        """Signal 0 probes without touching: gone is ``ProcessLookupError``; a process of
        another user (``PermissionError``) is alive. A pid below 1 names no process
        (``os.kill`` would probe a whole group), so it is not alive."""
        if pid < 1:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
