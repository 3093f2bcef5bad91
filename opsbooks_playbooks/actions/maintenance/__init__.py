"""Maintenance and recovery actions: database upkeep, table recovery, performance figures.

``python -m opsbooks_playbooks.actions.maintenance`` is the command line the runbooks call
(``figures``, ``vacuum``, ``reindex``, ``recover-*``, ``perf-*``...). Database URLs
come in as ``env:NAME`` so a password never reaches argv; PostgreSQL passwords travel
in ``PGPASSWORD`` (or come from ``~/.pgpass``). Importing this package does no I/O.
"""

from __future__ import annotations

import re

from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError

__all__ = ["TABLE_PATTERN", "DbError", "DbUsageError", "table_name"]

#: A table as the runbooks accept it: ``name`` or ``schema.name``, lower case, no quoting.
TABLE_PATTERN = r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$"


def table_name(text: str) -> str:
    """Check a table name against ``TABLE_PATTERN``; raise ``DbUsageError`` if it is not one."""
    if not re.match(TABLE_PATTERN, text):
        raise DbUsageError(
            f"{text!r} is not a table name; give name or schema.name in lower case "
            "letters, digits and underscores"
        )
    return text
