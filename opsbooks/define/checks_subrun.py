"""Definition checks of ``SubRun`` steps: the child, its params, and linked-run cycles.

Called from ``checks.validate``; each raises ``DefinitionError`` naming the runbook,
the step and the fix. Unknown names in the param templates are caught by the generic
template check, as for any step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsbooks.define.params import secret_fields
from opsbooks.define.subrun import SubRun, linked_runbooks
from opsbooks.define.template import TemplateError, roots
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook


def check_subruns(cls: type[Runbook]) -> None:
    """Raise ``DefinitionError`` for the first misused ``SubRun`` of ``cls``."""
    for item in [*cls.steps, *cls.compensations.values()]:
        if isinstance(item, SubRun):
            _check_one(cls, item)
    chain = [child.name for child in linked_runbooks(cls)]
    if cls.name in chain:
        raise DefinitionError(
            cls.name,
            f"SubRun cycle: {cls.name} starts {', '.join(chain)} as linked runs, and so "
            f"itself; a runbook cannot start itself, directly or through another "
            f"(split the shared steps into a third runbook both start)",
        )


def _check_one(cls: type[Runbook], item: SubRun) -> None:
    from opsbooks.define.runbook import Runbook

    child = item.runbook
    if isinstance(child, str):  # named at run time: the child checks its params then
        if not roots(child):
            raise DefinitionError(
                cls.name,
                f"SubRun({child!r}): a runbook named by text must be a template such as "
                f'"{{outputs.runbook}}"; for a fixed runbook pass its class',
                step=item.id,
            )
        return
    if not (isinstance(child, type) and issubclass(child, Runbook)) or child.abstract:
        raise DefinitionError(
            cls.name,
            f"SubRun(...) takes a concrete Runbook subclass, not {child!r}",
            step=item.id,
        )
    known = child.Params.model_fields
    for key, template in item.params.items():
        if key not in known:
            raise DefinitionError(
                cls.name,
                f"SubRun({child.__name__}) has no param {key!r}; its params: "
                f"{', '.join(known) or 'none'}",
                step=item.id,
            )
        names = {name.split(".")[0] for name in _names(str(template))}
        if names & secret_fields(cls.Params) and key not in secret_fields(child.Params):
            raise DefinitionError(
                cls.name,
                f"params[{key!r}] passes a secret to {child.name}'s plain param {key!r}, "
                f"where it would be shown; make that param a SecretStr",
                step=item.id,
            )
    required = [n for n, f in known.items() if f.is_required() and n not in item.params]
    if required:
        raise DefinitionError(
            cls.name,
            f"SubRun({child.__name__}) needs params {', '.join(required)}; pass them "
            f'as params={{"{required[0]}": "{{one_of_your_params}}"}}',
            step=item.id,
        )


def _names(template: str) -> set[str]:
    try:
        return roots(template)
    except TemplateError:
        return set()  # the generic template check names the problem
