"""How the user's config file spells a table, so advice names what they would edit.

``opsbooks.toml`` holds the tables at its top level (``[contacts]``); ``pyproject.toml``
under ``tool.opsbooks`` (``[tool.opsbooks.contacts]``). ``source`` is ``Config.source``:
the file's path, or a parenthesized word (``(defaults)``, ``(drill)``) when there is none.
"""

from __future__ import annotations

from pathlib import PurePath


def config_table(table: str, source: str) -> str:
    """``[table] in FILE`` as ``source`` spells it (both spellings when no file is known)."""
    if source.startswith("(") or not source:
        return f"[{table}] in opsbooks.toml (or [tool.opsbooks.{table}] in pyproject.toml)"
    name = PurePath(source).name
    if name == "pyproject.toml":
        return f"[tool.opsbooks.{table}] in {name}"
    return f"[{table}] in {name}"
