"""The real host identity: this process is alive, a pid that names no process is not."""

from __future__ import annotations

import os
import socket

from opsbooks.edges.identity import LocalIdentity


def test_names_this_host_and_process() -> None:
    identity = LocalIdentity()
    assert identity.name() == socket.gethostname()
    assert identity.pid() == os.getpid()
    assert identity.is_alive(os.getpid())


def test_a_pid_that_names_no_process_is_not_alive() -> None:
    identity = LocalIdentity()
    assert not identity.is_alive(2**31 - 1)  # above any pid_max
    assert not identity.is_alive(0)  # kill(0, 0) would probe our own process group
    assert not identity.is_alive(-1)


def test_init_is_alive_whoever_owns_it() -> None:
    assert LocalIdentity().is_alive(1)  # PermissionError (another user) counts as alive
