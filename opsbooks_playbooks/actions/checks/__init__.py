"""Diagnostic checks the troubleshooting trees run: each one probes a real system once.

A check never fails because it found a fault: finding the fault is its job. It exits 0,
prints one line saying what it found, and publishes the verdict as ``::output`` lines
the tree's ``Branch`` steps read (``dns=fail``, ``tcp=refused``, ``tls=expired``...).
It exits 2 only when it was given something it cannot use (a missing CA file, a bad
URL path). Every check is also a command an operator can paste::

    python -m opsbooks_playbooks.actions.checks tcp --host db.internal --port 5432 --timeout 3

Secrets (tokens, passwords) are read from the environment or a file, never from argv.
"""

from __future__ import annotations

#: Helpers the runbooks call, not runbooks: opsbooks discovery does not import them.
__runbooks__ = False

PROG = "python -m opsbooks_playbooks.actions.checks"

#: host names and addresses a check accepts: no leading dash, no shell or URL syntax
HOST_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:-]*$"


def check(*args: str) -> list[str]:
    """Argv of a check, the same command an operator types by hand."""
    return ["python", "-m", "opsbooks_playbooks.actions.checks", *args]
