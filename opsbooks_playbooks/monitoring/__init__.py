"""Monitoring runbooks: alerting setup, alert response, performance, capacity and SLOs.

Every automated step calls ``python -m opsbooks_playbooks.actions.monitoring`` or a standard
tool (``promtool``, ``amtool``, ``curl``), against the Prometheus and Alertmanager the
params name.
"""

from __future__ import annotations

#: what a URL param must look like: http(s), never an option
URL_PATTERN = r"^https?://[A-Za-z0-9_.:\[\]-]+(/[A-Za-z0-9_./-]*)?$"
REVIEWED = "2026-12-02"
