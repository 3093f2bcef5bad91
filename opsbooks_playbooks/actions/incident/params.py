"""The params every incident runbook takes, so a linked run is started with the same record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import field_validator

import opsbooks as ob

INCIDENT_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
NAME = r"^[a-z][a-z0-9_-]*$"
URL = r"^https?://[^\s]+$"


class IncidentParams(ob.Params):
    """The incident record: id, service, summary, classification inputs and timing."""

    incident_id: str = ob.Field(
        pattern=INCIDENT_ID, description="Incident record id, e.g. INC-2026-042"
    )
    service: str = ob.Field(
        pattern=INCIDENT_ID, description="The affected service, as named on the status page"
    )
    summary: str = ob.Field(
        description="One line for responders and the status page: what users see"
    )
    health_url: str = ob.Field(
        pattern=URL, description="The service's health endpoint, e.g. https://api/healthz"
    )
    impact: str = ob.Field(
        "moderate",
        pattern=NAME,
        description="Impact: extensive, significant, moderate or minor ([tool.opsbooks.incidents])",
    )
    urgency: str = ob.Field(
        "medium",
        pattern=NAME,
        description="Urgency: critical, high, medium or low ([tool.opsbooks.incidents])",
    )
    detected_at: str = ob.Field(
        "",
        description="When the incident began (the alert's start), ISO 8601 UTC; "
        "empty: when the run (or the run that escalated to it) started",
    )
    output_dir: ob.NoOption = ob.Field(
        "incidents", description="Where the post-incident review document is written"
    )

    @field_validator("detected_at")
    @classmethod
    def _iso(cls, value: str) -> str:
        if value:
            try:
                when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an ISO 8601 time; give e.g. 2026-12-02T09:00:00Z"
                ) from None
            if when.tzinfo is None:
                raise ValueError(f"{value!r} has no time zone; add Z for UTC")
        return value


def carried(*extra: str) -> dict[str, str]:
    """The SubRun params that hand an incident to the next level's runbook."""
    names = ("incident_id", "service", "summary", "health_url", "impact", "urgency")
    return {n: "{" + n + "}" for n in (*names, "detected_at", "output_dir", *extra)}


def policy_problems(params: ob.Params, config: Mapping[str, Any]) -> list[str]:
    """What in ``params`` the project's incident policy does not know (empty: all known).

    The valid impacts, urgencies and severities are configuration
    (``[tool.opsbooks.incidents]``), so a pattern cannot check them; a runbook's
    ``check_params`` does, before a run is created.
    """
    policy = ob.IncidentPolicy.from_config(config)
    where = "[tool.opsbooks.incidents]"
    problems: list[str] = []
    known = (("impact", "impacts", policy.impacts), ("urgency", "urgencies", policy.urgencies))
    for name, key, valid in known:
        value = getattr(params, name, None)
        if value is not None and value not in valid:
            problems.append(
                f"--{name}: {value!r} is not an {name} of the incident policy; "
                f"valid: {', '.join(valid)} ({where} {key})"
            )
    severity = str(getattr(params, "severity", "") or "")
    if severity:
        try:
            policy.mttr_seconds(severity)
        except ob.ConfigError:
            problems.append(
                f"--severity: {severity!r} is not a severity; valid: "
                f"{', '.join(sorted(policy.mttr))}, or leave it empty to classify by "
                f"impact x urgency"
            )
    return problems


def check_incident_params(runbook: str, params: ob.Params, config: Mapping[str, Any]) -> None:
    """Refuse (exit 2, no run) an impact, urgency or severity the incident policy lacks."""
    problems = policy_problems(params, config)
    if problems:
        raise ob.ParamsError(runbook, problems)
