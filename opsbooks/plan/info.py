"""What a plan knows of its runbook besides the steps: the facts its page and run report.

Read from the runbook class once, at ``plan()``; downstream code (runner, renderers)
reads this frozen record, never the class.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from opsbooks.define.hooks import hook_methods
from opsbooks.define.params import Params
from opsbooks.define.runbook import Change, Runbook, Trouble


@dataclass(frozen=True)
class RunbookInfo:
    """The runbook's identity, documentation sections and recovery objectives."""

    name: str
    title: str
    category: str
    purpose: str
    owner: str
    severity: str
    scope: str
    prerequisites: tuple[str, ...]
    verification: tuple[str, ...]
    troubleshooting: tuple[Trouble, ...]
    recovery: str
    related: tuple[str, ...]
    reviewed_on: dt.date | None
    next_review: dt.date | None
    review_every_days: int
    changelog: tuple[Change, ...]
    rto: str
    rpo: str
    rto_steps: tuple[str, str] | None
    params_schema: type[Params]
    #: the step hook methods the runbook defines (``before_step`` ...), for its page
    hooks: tuple[str, ...] = ()

    @classmethod
    def of(cls, runbook: type[Runbook]) -> RunbookInfo:
        severity = runbook.severity if isinstance(runbook.severity, str) else ""
        return cls(
            name=runbook.name,
            title=runbook.title,
            category=runbook.category,
            purpose=runbook.purpose(),
            owner=runbook.owner,
            severity=severity,
            scope=runbook.scope,
            prerequisites=tuple(runbook.prerequisites),
            verification=tuple(runbook.verification),
            troubleshooting=tuple(runbook.troubleshooting),
            recovery=runbook.recovery,
            related=tuple(runbook.related),
            reviewed_on=runbook.reviewed_on(),
            next_review=runbook.next_review(),
            review_every_days=runbook.review_every_days,
            changelog=tuple(runbook.changelog),
            rto=runbook.rto,
            rpo=runbook.rpo,
            rto_steps=runbook.rto_steps,
            params_schema=runbook.Params,
            hooks=tuple(hook_methods(runbook)),
        )
