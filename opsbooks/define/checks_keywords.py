"""Definition checks of the keywords every step kind shares (``define.base.Step``).

``Step.__post_init__`` only normalizes (a lone tag string becomes a tuple): a step does
not know its id or its runbook until the class is built, and an error must name both.
So the values are checked here, when the runbook class is defined.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsbooks.define.base import FACT_NAME, ON_FAILURE, Step
from opsbooks.define.checks_sections import own_param_names
from opsbooks.define.decisions import Branch, Gate
from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.template import ANSWERS, RUN_ID, RUNBOOK, TemplateError, roots
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook

_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
#: roots a note may name besides params and gate ids: outputs, and the host of a
#: remote step (bound per host when the step runs there)
_NOTE_ROOTS = {OUTPUTS_ROOT, "host"}
#: names every template may use that are bound when the run starts
_RUN_ROOTS = {ANSWERS, RUN_ID, RUNBOOK}


def check_keywords(cls: type[Runbook], item: Step) -> None:
    """Raise ``DefinitionError`` for a bad shared keyword on ``item``."""
    where = {"step": item.id}
    if item.on_failure not in ON_FAILURE:
        raise DefinitionError(
            cls.name,
            f"on_failure={item.on_failure!r} is not one of {', '.join(map(repr, ON_FAILURE))}",
            **where,
        )
    if item.on_failure != "rollback" and isinstance(item, Branch):
        raise DefinitionError(
            cls.name,
            f"on_failure={item.on_failure!r} does not apply to a branch: a branch runs no "
            f"command, it only picks the next step, so it has no failure to go on after or "
            f"stop at; set on_failure= on the steps it routes to instead, and remove it here",
            **where,
        )
    if item.on_failure != "rollback" and isinstance(item, Gate):
        raise DefinitionError(
            cls.name,
            f"on_failure={item.on_failure!r} does nothing on a {item.kind}: a declined gate "
            f"stops the run (use on_decline= for optional parts); remove it",
            **where,
        )
    for tag in item.tags:
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise DefinitionError(
                cls.name,
                f"tag {tag!r} is not a tag: use letters, digits, '_', '-', '.' or ':' "
                f"(no spaces or commas), for example tags=('restart', 'prod')",
                **where,
            )
    for mark in item.marks:
        if not isinstance(mark, str) or not FACT_NAME.match(mark):
            raise DefinitionError(
                cls.name,
                f"marks={mark!r} is not a fact name: use dotted lower-case words, for "
                f'example marks="incident.acknowledged"',
                **where,
            )
    for flag in ("setup", "rerun_on_resume", "quiet"):
        if not isinstance(getattr(item, flag), bool):
            raise DefinitionError(cls.name, f"{flag}= takes True or False", **where)
    if (item.setup or item.rerun_on_resume) and item.undo is not None:
        flag = "setup=True" if item.setup else "rerun_on_resume=True"
        raise DefinitionError(
            cls.name,
            f"{flag} runs the step again on every resume, so it must be safe to repeat and "
            f"cannot have an undo; remove undo= or {flag}",
            **where,
        )
    _check_note(cls, item, _names(cls, item))


def _names(cls: type[Runbook], item: Step) -> set[str]:
    """What a note may name: the params (of the included runbook, for a step an
    ``Include`` brought in) and the gate ids."""
    params = own_param_names(item, set(cls.Params.model_fields))
    every = list(cls.steps) + list(cls.compensations.values())
    return params | {step.id for step in every if isinstance(step, Gate)}


def _check_note(cls: type[Runbook], item: Step, names: set[str]) -> None:
    """A note is a string template over ``names``, outputs and (on host steps) the host.

    For the runbook's own steps the template checks (``checks_expressions``) look at the
    note first, with near misses and answers; this catches the rest, e.g. an included
    step's note, which names its own runbook's params.
    """
    if not isinstance(item.note, str):
        raise DefinitionError(cls.name, "note= takes a string (a template)", step=item.id)
    if not item.note:
        return
    try:
        allowed = _NOTE_ROOTS if hasattr(item, "role") else {OUTPUTS_ROOT}
        unknown = sorted(roots(item.note) - names - allowed - _RUN_ROOTS)
    except TemplateError as exc:
        raise DefinitionError(cls.name, f"note: {exc}", step=item.id) from None
    if unknown:
        known = ", ".join(sorted(names)) or "none"
        hosts = " ({host.*} only on steps that run on hosts)" if unknown[0] == "host" else ""
        raise DefinitionError(
            cls.name,
            f"note names {{{unknown[0]}}}, which is not a parameter{hosts} (params: "
            f"{known}); fix the name or write {{{{ and }}}} for literal braces",
            step=item.id,
        )
