"""The configuration file, found and read but not validated (no pydantic).

``opsbooks.edges.config.Config`` validates the table; that needs pydantic, which a
listing from a current catalog index does not otherwise load. The index records the
digest of the table it was built under, and is written only after the table
validated, so a warm listing may read ``packages``, ``exclude`` and ``state_dir``
raw: the same table validated before, and validation is a function of the table.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbooks.errors import ConfigError


@dataclass(frozen=True)
class ConfigSource:
    """Where the configuration lives and its ``[tool.opsbooks]`` table, as read."""

    root: Path
    path: Path | None = None
    table: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """sha256 of the file's path and table: what a cached catalog was built under."""
        text = json.dumps([str(self.path), self.table], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def packages(self) -> list[str]:
        found = self.table.get("packages")
        if found is None:
            from opsbooks.edges.discovery import installed_catalogs

            return installed_catalogs()
        return _names(found)

    @property
    def exclude(self) -> list[str]:
        return _names(self.table.get("exclude", []))

    @property
    def state_path(self) -> Path:
        named = self.table.get("state_dir", ".opsbooks")
        candidate = Path(named if isinstance(named, str) else ".opsbooks").expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    def param_defaults(self, runbook: str, fields: Collection[str] | None = None) -> dict[str, Any]:
        return param_defaults(self.table.get("params", {}), runbook, fields)


def _names(value: object) -> list[str]:
    """A list of names as read; anything else, which validation refuses, as none."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    return []


def param_defaults(
    params: Mapping[str, Mapping[str, Any]], runbook: str, fields: Collection[str] | None
) -> dict[str, Any]:
    """Defaults for a runbook's params: its category's table, then its own, winning.

    A category table is shared by runbooks with different params, so callers keep
    only the keys a runbook has (``fields``); the runbook's own table is strict.
    """
    category = runbook.split(".", 1)[0]
    shared = params.get(category, {}) if category != runbook else {}
    if fields is not None:
        shared = {k: v for k, v in shared.items() if k in fields}
    return {**shared, **params.get(runbook, {})}


def find_config_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """Return the nearest config file at or above ``start`` and its opsbooks table."""
    for folder in [start, *start.parents]:
        dedicated = folder / "opsbooks.toml"
        if dedicated.is_file():
            return dedicated, read_toml(dedicated)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = read_toml(pyproject).get("tool", {}).get("opsbooks")
            if isinstance(table, dict):
                return pyproject, table
    return None


def config_source(start: Path | None = None, *, file: Path | None = None) -> ConfigSource:
    """The configuration in ``file``, or the nearest one above ``start``, or none."""
    start = (start or Path.cwd()).resolve()
    if file is not None:
        data = read_toml(file)
        if file.name == "pyproject.toml":
            data = data.get("tool", {}).get("opsbooks", {})
        found: tuple[Path, dict[str, Any]] | None = (file.resolve(), data)
    else:
        found = find_config_file(start)
    if found is None:
        return ConfigSource(root=start)
    path, table = found
    return ConfigSource(root=path.parent, path=path, table=table)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ConfigError(
            f"{path} is not valid TOML ({exc or type(exc).__name__}); fix the syntax and run again."
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
