"""Backup runbooks: take, verify and restore database backups (SQLite and PostgreSQL).

Every step calls ``python -m opsbooks_playbooks.actions.db``, so each command in the docs is
the exact command an operator can paste when doing the procedure by hand.
"""

from __future__ import annotations

DB_URL_HELP = (
    "sqlite:///abs/path.db or postgresql://user[:password]@host:port/dbname; "
    "prefer a ~/.pgpass entry or PGPASSWORD over a password in the URL"
)


#: Where steps hand database URLs to the action: its environment, read as ``--db
#: env:DB_URL``. A password on a command line is readable by every local user.
URLS_ENV = {"DB_URL": "{db}", "SCRATCH_URL": "{scratch_server}"}


def db_action(*args: str) -> list[str]:
    """Argv of a database action, the same command an operator types by hand."""
    return ["python", "-m", "opsbooks_playbooks.actions.db", *args]
