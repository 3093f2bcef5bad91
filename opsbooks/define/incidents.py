"""The incident policy: how impact and urgency classify an incident, the MTTR target of
each severity, and who handles each escalation level.

Read from ``[tool.opsbooks.incidents]``; the defaults (an ITIL-like 4x4 matrix, MTTR
targets SEV1 1h, SEV2 4h, SEV3 24h, SEV4 72h, levels L1 ops on-call 15m, L2 platform
30m, L3 engineering lead 1h) work untouched. A Python step reads it with
``IncidentPolicy.from_config(ctx.config)``. Every wrong name is an error that lists the
valid ones; a level whose contact is not configured names the key to add.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)

from opsbooks.define.policies import seconds
from opsbooks.errors import ConfigError

__all__ = ["SEVERITIES", "EscalationLevel", "IncidentPolicy"]

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
_TABLE = "[tool.opsbooks.incidents]"
_IMPACTS = ["extensive", "significant", "moderate", "minor"]
_URGENCIES = ["critical", "high", "medium", "low"]
#: impact -> urgency -> severity: the worse of the two, shifted by one per step apart
_MATRIX = {
    "extensive": {"critical": "SEV1", "high": "SEV1", "medium": "SEV2", "low": "SEV3"},
    "significant": {"critical": "SEV1", "high": "SEV2", "medium": "SEV3", "low": "SEV3"},
    "moderate": {"critical": "SEV2", "high": "SEV3", "medium": "SEV3", "low": "SEV4"},
    "minor": {"critical": "SEV3", "high": "SEV3", "medium": "SEV4", "low": "SEV4"},
}
_MTTR = {"SEV1": "1h", "SEV2": "4h", "SEV3": "24h", "SEV4": "72h"}


class EscalationLevel(BaseModel):
    """One support level: who is called, through which channel, how fast, with which runbook."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    #: a key of ``[tool.opsbooks.contacts]`` (L1, L2, L3)
    contact: str
    #: the ``[tool.opsbooks.notify]`` channel that pages this level
    channel: str = "page"
    #: how long this level has to mitigate before the incident goes to the next one
    response: str
    #: the runbook this level works the incident with
    runbook: str

    @property
    def response_seconds(self) -> float:
        return seconds(self.response)


_LEVELS = {
    "L1": EscalationLevel(title="Ops on-call", contact="L1", response="15m", runbook="incident.l1"),
    "L2": EscalationLevel(
        title="Platform team", contact="L2", response="30m", runbook="incident.l2"
    ),
    "L3": EscalationLevel(
        title="Engineering lead", contact="L3", response="1h", runbook="incident.l3"
    ),
}


class IncidentPolicy(BaseModel):
    """Classification matrix, MTTR targets and escalation levels of incidents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    impacts: list[str] = Field(default_factory=lambda: list(_IMPACTS))
    urgencies: list[str] = Field(default_factory=lambda: list(_URGENCIES))
    matrix: dict[str, dict[str, str]] = Field(default_factory=lambda: _copy(_MATRIX))
    mttr: dict[str, str] = Field(default_factory=lambda: dict(_MTTR))
    #: in escalation order: the first is where an incident starts
    levels: dict[str, EscalationLevel] = Field(default_factory=lambda: dict(_LEVELS))

    @model_validator(mode="wrap")
    @classmethod
    def _name_the_table(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Every problem names the table, wherever the policy is validated from."""
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"{_TABLE} has unknown key(s) {', '.join(unknown)}; "
                    f"valid: {', '.join(cls.model_fields)}"
                )
            if isinstance(data.get("mttr"), Mapping):  # name only the targets you change
                data = {**data, "mttr": {**_MTTR, **data["mttr"]}}
        try:
            return handler(data)
        except ValidationError as exc:
            raise ValueError(f"{_TABLE} is invalid: {_problems(exc)}") from None

    @model_validator(mode="after")
    def _complete(self) -> IncidentPolicy:
        for impact in self.impacts:
            row = self.matrix.get(impact)
            if row is None:
                raise ValueError(f"{_TABLE} matrix has no row for impact {impact!r}")
            for urgency in self.urgencies:
                if row.get(urgency) not in SEVERITIES:
                    raise ValueError(
                        f"{_TABLE} matrix.{impact}.{urgency} must be one of "
                        f"{', '.join(SEVERITIES)}, got {row.get(urgency)!r}"
                    )
        for sev in SEVERITIES:
            if sev not in self.mttr:
                raise ValueError(f"{_TABLE} mttr has no target for {sev}")
            _duration(self.mttr[sev], f"mttr.{sev}")
        if not self.levels:
            raise ValueError(f"{_TABLE} levels is empty; define at least L1")
        for name, level in self.levels.items():
            _duration(level.response, f"levels.{name}.response")
        return self

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IncidentPolicy:
        """The policy of a run's configuration (``ctx.config``), or the defaults."""
        table = config.get("incidents")
        if isinstance(table, IncidentPolicy):
            return table
        try:
            return cls.model_validate(table or {})
        except ValidationError as exc:
            raise ConfigError(
                f"{_problems(exc)}. Fix the table; see docs/guides/configuration.md#incidents."
            ) from None

    def classify(self, impact: str, urgency: str) -> str:
        """The severity (SEV1..SEV4) of an incident of this impact and urgency."""
        _known("impact", impact, self.impacts)
        _known("urgency", urgency, self.urgencies)
        return self.matrix[impact][urgency]

    def mttr_seconds(self, severity: str) -> float:
        """The MTTR target of ``severity``, in seconds."""
        _known("severity", severity, list(SEVERITIES))
        return seconds(self.mttr[severity])

    def level(self, name: str) -> EscalationLevel:
        _known("escalation level", name, list(self.levels))
        return self.levels[name]

    def next_level(self, name: str) -> str | None:
        """The level after ``name``, or None at the top."""
        _known("escalation level", name, list(self.levels))
        order = list(self.levels)
        at = order.index(name)
        return order[at + 1] if at + 1 < len(order) else None

    def contact(self, name: str, config: Mapping[str, Any]) -> str:
        """Who to call at level ``name``, from ``[tool.opsbooks.contacts]``."""
        key = self.level(name).contact
        contacts = config.get("contacts") or {}
        found = contacts.get(key) if isinstance(contacts, Mapping) else getattr(contacts, key, "")
        if not found:
            raise ConfigError(
                f'escalation level {name} has no contact: add {key} = "name, phone or '
                f'handle" to [tool.opsbooks.contacts] so the incident runbooks can say '
                f"who to call"
            )
        return str(found)


def _known(what: str, value: str, valid: list[str]) -> None:
    if value not in valid:
        raise ConfigError(
            f"unknown {what} {value!r}; valid: {', '.join(valid)} "
            f"(from {_TABLE}, see docs/guides/configuration.md#incidents)"
        )


def _copy(matrix: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    return {k: dict(v) for k, v in matrix.items()}


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        "".join(f"{p}." for p in e["loc"]).removesuffix(".")
        + (": " if e["loc"] else "")
        + str(e["msg"]).removeprefix("Value error, ")
        for e in exc.errors(include_url=False)
    )


def _duration(value: str, where: str) -> None:
    try:
        seconds(value)
    except ValueError as exc:
        raise ValueError(f"{_TABLE} {where}: {exc}") from None
