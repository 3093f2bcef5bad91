"""The real host identity: the host name from ``socket``, pids and liveness from ``os``."""

from __future__ import annotations

import os
import socket

__all__ = ["LocalIdentity"]


class LocalIdentity:
    """This machine and this process, as :class:`opsbooks.records.identity.HostIdentity`."""

    def name(self) -> str:
        return socket.gethostname()

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
