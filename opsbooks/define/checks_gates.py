"""Definition checks for gate options: ``on_decline``, ``yes_default`` and their defaults.

Each combination that cannot mean anything (an optional gate that also rolls back, a
``--yes`` default with no default) is refused at import, with the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsbooks.define.checks_approvals import check_approvers
from opsbooks.define.decisions import Gate
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook


def check_gate_options(cls: type[Runbook], gate: Gate) -> None:
    """Refuse gate options that contradict each other or the gate's mode."""
    where = {"step": gate.id}
    if gate.on_decline not in ("stop", "skip"):
        raise DefinitionError(
            cls.name, f"on_decline={gate.on_decline!r}; use 'stop' or 'skip'", **where
        )
    if gate.on_decline == "skip":
        if gate.mode != "confirm":
            raise DefinitionError(
                cls.name,
                "on_decline='skip' is for confirmations (Gate.confirm); an ask or a choose "
                "cannot be declined",
                **where,
            )
        if gate.rollback_on_decline:
            raise DefinitionError(
                cls.name,
                "on_decline='skip' goes on after a no, rollback_on_decline=True undoes the "
                "run after a no; keep one of them",
                **where,
            )
    if gate.yes_default:
        _check_yes_default(cls, gate)
    if gate.approvers is not None or gate.quorum != 1 or gate.four_eyes is not None:
        check_approvers(cls, gate)


def _check_yes_default(cls: type[Runbook], gate: Gate) -> None:
    where = {"step": gate.id}
    if gate.mode == "confirm":
        raise DefinitionError(
            cls.name,
            "yes_default=True is for asks and chooses; --yes already approves a confirmation",
            **where,
        )
    if gate.default is None:
        raise DefinitionError(
            cls.name, "yes_default=True needs default=: the answer --yes gives", **where
        )
    if gate.secret:
        raise DefinitionError(
            cls.name,
            "a secret gate cannot have a --yes default: a secret written in the runbook is "
            "no secret; drop yes_default and answer it at the terminal or in --answers",
            **where,
        )
    if gate.choices and str(gate.default) not in gate.choices:
        raise DefinitionError(
            cls.name,
            f"default={gate.default!r} is not one of the choices ({', '.join(gate.choices)})",
            **where,
        )
