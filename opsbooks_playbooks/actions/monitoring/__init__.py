"""Monitoring actions: Prometheus and Alertmanager APIs, vendor monitor exports,
performance baselines, capacity trends and SLO budgets.

Every runbook step calls ``python -m opsbooks_playbooks.actions.monitoring SUBCOMMAND``, so the
page shows the exact command an operator can paste::

    python -m opsbooks_playbooks.actions.monitoring sla --job api --target 0.999 \\
        --prometheus http://127.0.0.1:9090 --window 30d
"""

from __future__ import annotations

#: Helpers the runbooks call, not runbooks: opsbooks discovery does not import them.
__runbooks__ = False

PROG = "python -m opsbooks_playbooks.actions.monitoring"

#: a Prometheus job or label value the runbooks put in a query: no quotes or braces
JOB_PATTERN = r"^[A-Za-z_][A-Za-z0-9_:.-]*$"


def action(*args: str) -> list[str]:
    """Argv of a monitoring action, the same command an operator types by hand."""
    return ["python", "-m", "opsbooks_playbooks.actions.monitoring", *args]
