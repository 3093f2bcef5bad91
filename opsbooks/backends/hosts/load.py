"""Load an inventory from a configuration file, a folder to search, a table or a ``Config``.

For actions and scripts that work on hosts outside a run: they get the same
inventory, SSH settings and checks a run gets, without the rest of the project
configuration. Relative paths in the configuration resolve against its file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsbooks.backends.hosts.inventory import HostsConfig, Inventory
from opsbooks.errors import InventoryError

CONFIG_NAMES = ("opsbooks.toml", "pyproject.toml")


def load_inventory(source: HostsConfig | Mapping[str, Any] | str | Path) -> Inventory:
    """The inventory ``source`` describes; an ``InventoryError`` (exit 2) if it cannot.

    ``source`` is one of:

    - a configuration file: ``opsbooks.toml`` (its ``[hosts]`` and ``[ssh]`` tables) or
      ``pyproject.toml`` (``[tool.opsbooks.hosts]`` and ``[tool.opsbooks.ssh]``);
    - a folder: the nearest of those files at or above it, as opsbooks finds its
      configuration (an empty inventory when there is none);
    - a mapping with ``hosts`` and ``ssh`` tables (relative paths: the working folder);
    - an object with ``hosts``, ``ssh`` and ``root``, such as ``opsbooks``' ``Config``.
    """
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        found = _find(path) if path.is_dir() else (path.resolve(), _table(path))
        if found is None:
            return Inventory(())
        file, table = found
        return Inventory.parse(
            _part(table, "hosts", file), _part(table, "ssh", file), root=file.parent
        )
    if isinstance(source, Mapping):
        return Inventory.parse(source.get("hosts") or {}, source.get("ssh") or {})
    return Inventory.from_config(source)


def _find(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    for candidate in [folder.resolve(), *folder.resolve().parents]:
        for name in CONFIG_NAMES:
            file = candidate / name
            if file.is_file():
                table = _table(file)
                if name == "opsbooks.toml" or table is not None:
                    return file, table or {}
    return None


def _table(file: Path) -> dict[str, Any] | None:
    """The opsbooks table of ``file`` (``None``: a pyproject.toml without one)."""
    try:
        with file.open("rb") as handle:
            data = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{file} is not valid TOML ({exc}); fix the syntax") from None
    except OSError as exc:
        raise InventoryError(f"cannot read {file}: {exc.strerror or exc}") from None
    if file.name != "pyproject.toml":
        return data
    table = data.get("tool", {}).get("opsbooks")
    return table if isinstance(table, dict) else None


def _part(table: dict[str, Any] | None, key: str, file: Path) -> Mapping[str, Any]:
    value = (table or {}).get(key, {})
    if not isinstance(value, Mapping):
        raise InventoryError(f"{key} in {file} must be a table, not {type(value).__name__}")
    return value
