"""Definition checks for a gate's signed approvals: ``approvers``, ``quorum``, ``four_eyes``.

A gate that waits for signed approvals is a confirmation with a role behind it; every
combination that cannot mean anything is refused at import, with the fix.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsbooks.define.decisions import Gate
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook

#: a role's name, as ``[tool.opsbooks.approvals] roles`` keys it
ROLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_approvers(cls: type[Runbook], gate: Gate) -> None:
    """Refuse approval options that cannot mean anything."""
    where = {"step": gate.id}
    if gate.approvers is None:
        raise DefinitionError(
            cls.name,
            "quorum= and four_eyes= are for gates with approvers=: name the role whose "
            'members must sign (approvers="release-managers")',
            **where,
        )
    if not isinstance(gate.approvers, str) or not ROLE_NAME.fullmatch(gate.approvers):
        raise DefinitionError(
            cls.name,
            f"approvers={gate.approvers!r} is not a role name; use a key of "
            f"[tool.opsbooks.approvals] roles (letters, digits, '-', '_', '.')",
            **where,
        )
    if isinstance(gate.quorum, bool) or not isinstance(gate.quorum, int) or gate.quorum < 1:
        raise DefinitionError(
            cls.name,
            f"quorum={gate.quorum!r}; a quorum is a whole number of approvers, at least 1",
            **where,
        )
    if gate.secret:
        raise DefinitionError(
            cls.name,
            "a secret gate cannot take signed approvals: an approval is a signed yes, not "
            "an answer; keep the secret in its own Gate.ask",
            **where,
        )
    if gate.on_timeout == "default":
        raise DefinitionError(
            cls.name,
            "on_timeout='default' would pass a gate with approvers= without its approvals; "
            "a timeout at such a gate stops the run (drop on_timeout)",
            **where,
        )
    if gate.mode != "confirm" or gate.phrase is not None or gate.on_decline != "stop":
        raise DefinitionError(
            cls.name,
            "approvers= is for plain confirmations (Gate.confirm without phrase= or "
            "on_decline='skip'): approvers approve or deny, they do not type answers",
            **where,
        )
