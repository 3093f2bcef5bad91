"""The governance configuration: ``lint``, ``stats`` and ``review`` tables, checked once.

The config file keeps them as plain tables (``[tool.opsbooks.lint]``); these models give
them their keys and defaults and turn a typo (an unknown rule, a bad severity) into one
paragraph naming the key and the fix, exit 2, before any rule runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from opsbooks.define.policies import seconds
from opsbooks.errors import ConfigError

Severity = Literal["error", "warning"]


class LintSettings(BaseModel):
    """``[tool.opsbooks.lint]``: which rules run, how loud, and the windows they check."""

    model_config = ConfigDict(extra="forbid")

    #: rule ids (``undo-missing``) or ``rule:runbook`` pairs (``undo-missing:db.purge``)
    disable: list[str] = []
    severity: dict[str, Severity] = {}
    #: a runbook must have succeeded (a DR runbook: been drilled) within this many days
    exercised_within_days: int = 90
    #: the date the contacts table was last checked against the pager rotations
    contacts_verified: dt.date | None = None
    contacts_within_days: int = 90

    def checked(self, known: Collection[str]) -> LintSettings:
        """Return self; refuse a rule name the linter does not have (exit 2)."""
        named = [entry.split(":", 1)[0] for entry in self.disable] + list(self.severity)
        unknown = sorted({name for name in named if name not in known})
        if unknown:
            raise ConfigError(
                f"the lint configuration names unknown rule(s): {', '.join(unknown)}. The "
                f"rules are: {', '.join(sorted(known))}; fix `disable`/`severity` in "
                f"[tool.opsbooks.lint] (see docs/guides/governance.md)."
            )
        return self

    def enabled(self, rule: str, runbook: str) -> bool:
        return rule not in self.disable and f"{rule}:{runbook}" not in self.disable


class StatsSettings(BaseModel):
    """``[tool.opsbooks.stats]``: targets the figures are measured against."""

    model_config = ConfigDict(extra="forbid")

    #: detection-to-resolution targets per runbook severity: ``{critical = "1h"}``
    mttr_targets: dict[str, str] = {}
    #: a failed run followed this soon by a run of a related, more severe runbook escalated
    escalation_window: str = "24h"

    def mttr_target_seconds(self) -> dict[str, float]:
        return {name: seconds(value) for name, value in self.mttr_targets.items()}


class ReviewSettings(BaseModel):
    """``[tool.opsbooks.review]``: what a review must satisfy."""

    model_config = ConfigDict(extra="forbid")

    #: the reviewer must not be the last author of the runbook's module (git log)
    require_distinct_reviewer: bool = False


def load(model: type[Any], table: Mapping[str, Any], key: str) -> Any:
    """Validate one table, turning pydantic's error into a ``ConfigError`` (exit 2)."""
    try:
        return model.model_validate(dict(table))
    except (ValidationError, ValueError) as exc:
        problems = (
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].lower()}"
                for e in exc.errors(include_url=False)
            )
            if isinstance(exc, ValidationError)
            else str(exc)
        )
        raise ConfigError(
            f"[tool.opsbooks.{key}] is invalid: {problems}. Fix the table (see "
            f"docs/guides/governance.md for every key)."
        ) from None
