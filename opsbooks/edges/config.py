"""Project configuration: ``opsbooks.toml`` or ``[tool.opsbooks]`` in ``pyproject.toml``.

Found by walking up from the working directory; relative paths in it are relative
to the file that holds it. Only composition roots (cli, tasks) call ``load_config``.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from opsbooks.backends.notify import Channel
from opsbooks.define.contacts import Contacts
from opsbooks.define.incidents import IncidentPolicy
from opsbooks.define.policies import seconds
from opsbooks.edges.config_source import (
    ConfigSource,
    config_source,
    param_defaults,
)
from opsbooks.edges.discovery import installed_catalogs
from opsbooks.errors import ConfigError
from opsbooks.records.redaction import compile_pattern


class Config(BaseModel):
    """Everything opsbooks reads from configuration, with defaults that work untouched."""

    model_config = ConfigDict(extra="forbid")

    root: Path = Field(default_factory=Path.cwd, exclude=True)
    source: str = Field(default="(defaults)", exclude=True)
    packages: list[str] = Field(default_factory=installed_catalogs)
    exclude: list[str] = []
    #: list from the catalog index (``opsbooks.edges.catalog_index``); false: always import
    catalog_index: bool = True
    docs_dir: str = "docs/runbooks"
    state_dir: str = ".opsbooks"
    journal: str = ""
    #: how long a lock holder's heartbeat stays valid; older, it is gone on any host
    journal_lease: float = 30.0
    contacts: Contacts = Contacts()
    #: severity matrix, MTTR targets, escalation levels (docs/guides/configuration.md#incidents)
    incidents: IncidentPolicy = IncidentPolicy()
    notify: dict[str, Channel] = {"default": Channel()}
    audit_anchor: str = ""  # a notify channel that receives each run's audit head at its end
    secret_patterns: list[str] = []
    hosts: dict[str, Any] = {}
    ssh: dict[str, Any] = {}
    params: dict[str, dict[str, Any]] = {}
    settings: dict[str, dict[str, Any]] = {}
    #: step hook plugins, "package.module:Name" (see docs/guides/hooks.md)
    hooks: list[str] = []
    #: governance tables, checked by ``opsbooks.govern.settings`` (docs/guides/governance.md)
    lint: dict[str, Any] = {}
    stats: dict[str, Any] = {}
    review: dict[str, Any] = {}
    #: signed approvals (``opsbooks.define.approvals.ApprovalSettings``), checked on use
    approvals: dict[str, Any] = {}

    @field_validator("journal_lease", mode="before")
    @classmethod
    def _lease(cls, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"journal_lease must be a duration such as '30s', not {value!r}")
        lease = seconds(value)
        if not 0.3 <= lease <= 86400:
            raise ValueError(
                f"journal_lease {value!r} is out of range: use from '0.3s' to '1d' "
                f"(the default '30s' suits a shared journal)"
            )
        return lease

    @field_validator("secret_patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        import regex  # lazy: the engine costs 9 ms to import; most configs have no patterns

        for pattern in patterns:
            try:
                compile_pattern(pattern)  # the bounded engine the redactor matches with
            except regex.error as exc:
                raise ValueError(
                    f"secret pattern {pattern!r} is not a regular expression: {exc}"
                ) from None
        return patterns

    def path(self, relative: str) -> Path:
        """Resolve a configured path against the directory of the config file."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    def param_defaults(self, runbook: str, fields: Collection[str] | None = None) -> dict[str, Any]:
        """Defaults for a runbook's params: its category's table, then its own, winning.

        A category table is shared by runbooks with different params, so callers keep
        only the keys a runbook has (``fields``); the runbook's own table is strict.
        """
        return param_defaults(self.params, runbook, fields)

    def runbook_settings(self, runbook: str) -> dict[str, Any]:
        """A runbook's settings: its category's table, then its own, winning.

        Settings are for a runbook's ``prepare_project`` hook, not its params; opsbooks
        passes them through unread, so any key is accepted.
        """
        category = runbook.split(".", 1)[0]
        shared = self.settings.get(category, {}) if category != runbook else {}
        return {**shared, **self.settings.get(runbook, {})}

    @property
    def configured(self) -> bool:
        """Whether a configuration was given (a file, or a config built by a caller)."""
        return self.source != "(defaults)"

    @property
    def state_path(self) -> Path:
        return self.path(self.state_dir)

    @property
    def journal_url(self) -> str:
        return self.journal or f"sqlite:///{self.state_path / 'journal.db'}"


def load_config(start: Path | None = None, *, file: Path | None = None) -> Config:
    """Load configuration from ``file``, or the nearest one above ``start``, or defaults."""
    return validate(config_source(start, file=file))


def validate(source: ConfigSource) -> Config:
    """The validated configuration of ``source``; ``ConfigError`` naming every problem."""
    if source.path is None:
        return Config(root=source.root)
    try:
        return Config.model_validate(
            {**source.table, "root": source.root, "source": str(source.path)}
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].lower()}"
            for e in exc.errors(include_url=False)
        )
        raise ConfigError(
            f"configuration in {source.path} is invalid: {problems}. Fix the [tool.opsbooks] "
            f"table (or opsbooks.toml); see docs/guides/configuration.md for every key."
        ) from None
