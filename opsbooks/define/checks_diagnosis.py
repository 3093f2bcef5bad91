"""Definition checks of ``Diagnosis`` leaves: a finding, no undo, a real escalation level.

Called from ``checks.validate``; each raises ``DefinitionError`` naming the runbook,
the step and the fix. A ``Branch`` may route to a diagnosis like to any later step;
unknown names in the templates are caught by the generic template check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsbooks.define.diagnosis import LEVEL_NAME, LEVELS, Diagnosis
from opsbooks.define.steps import undo_id
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook


def check_diagnoses(cls: type[Runbook]) -> None:
    """Raise ``DefinitionError`` for the first misused ``Diagnosis`` of ``cls``."""
    for item in cls.steps:
        if isinstance(item, Diagnosis):
            _check_one(cls, item)
    for step_id, compensation in cls.compensations.items():
        if isinstance(compensation, Diagnosis):
            raise DefinitionError(
                cls.name,
                f"the undo {step_id!r} is a Diagnosis; an undo must reverse an effect, and "
                "a diagnosis ends the run instead: make the undo a Command (or a Manual)",
                step=step_id,
            )


def _check_one(cls: type[Runbook], item: Diagnosis) -> None:
    if not isinstance(item.finding, str) or not item.finding.strip():
        raise DefinitionError(
            cls.name,
            "a Diagnosis needs a finding: say what is wrong, e.g. "
            'ob.Diagnosis("Name resolution fails for {host}", resolution="...")',
            step=item.id,
        )
    if undo_id(item) is not None:
        raise DefinitionError(
            cls.name,
            "a Diagnosis changes nothing, so it cannot have an undo; drop `undo=` (put "
            "what a person should do about the finding in `resolution=`)",
            step=item.id,
        )
    bad = [c for c in item.commands if not isinstance(c, str) or not c.strip()]
    if bad:
        raise DefinitionError(
            cls.name,
            f"commands= holds {bad[0]!r}; each command is a non-empty string (a shell "
            "command shown to the operator, never run)",
            step=item.id,
        )
    level = item.escalate
    if level and (not isinstance(level, str) or not LEVEL_NAME.match(level) or level not in LEVELS):
        raise DefinitionError(
            cls.name,
            f"escalate={level!r} is not a contact level; use one of {', '.join(LEVELS)} "
            "(the keys of [tool.opsbooks.contacts]), or leave escalate empty",
            step=item.id,
        )
