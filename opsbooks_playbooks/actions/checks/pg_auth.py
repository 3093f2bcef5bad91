"""PostgreSQL login check: one real login attempt, the server's refusal classified.

The password comes from libpq's own sources: ``PGPASSWORD`` in the environment or a
``.pgpass`` file (``PGPASSFILE``), never argv.
"""

from __future__ import annotations

import os

import psycopg

from opsbooks.actions import Result

#: (verdict, text the server's FATAL message holds); the first match wins
_REFUSALS = (
    ("hba_rejected", "no pg_hba.conf entry"),
    ("hba_rejected", "pg_hba.conf rejects connection"),
    ("no_role", "does not exist"),
    ("password_rejected", "password authentication failed"),
    ("no_password", "no password supplied"),
    ("unreachable", "connection refused"),
    ("unreachable", "timeout expired"),
    ("unreachable", "could not translate host name"),
)


def classify(message: str) -> str:
    """The verdict for a libpq connection error message."""
    lowered = message.lower()
    if "database" in lowered and "does not exist" in lowered:
        return "no_database"
    return next((verdict for verdict, text in _REFUSALS if text in lowered), "error")


def login(host: str, port: int, user: str, dbname: str, timeout: int = 5) -> Result:
    """Log in as ``user`` to ``dbname`` and run ``select current_user``, like ``psql -w``."""
    if not user:
        return Result("no role given: PostgreSQL login check skipped", outputs={"pg": "skipped"})
    where = f"{user}@{host}:{port}/{dbname}"
    for name in ("PGPASSWORD", "PGPASSFILE"):  # an empty one means "not given"
        if not os.environ.get(name):
            os.environ.pop(name, None)
    try:
        with psycopg.connect(
            host=host,
            port=port,
            user=user,
            dbname=dbname,
            connect_timeout=timeout,
            application_name="opsbooks-check",
        ) as conn:
            row = conn.execute("select current_user, version()").fetchone()
    except psycopg.OperationalError as exc:
        message = " ".join(str(exc).split())
        return Result(f"login {where} refused: {message}", outputs={"pg": classify(message)})
    who, version = row if row else ("?", "?")
    return Result(f"login {where} ok as {who}: {str(version).split(',')[0]}", outputs={"pg": "ok"})
