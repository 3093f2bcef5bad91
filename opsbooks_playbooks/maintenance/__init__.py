"""Maintenance runbooks: database upkeep and scheduled performance investigations."""

from __future__ import annotations

#: Every maintenance step calls this module, so the docs show the exact commands.
ACTION = ("python", "-m", "opsbooks_playbooks.actions.maintenance")


def maint_action(*args: str) -> list[str]:
    """Argv of a maintenance action, the same command an operator types by hand."""
    return [*ACTION, *args]
