"""The session's Prometheus and Alertmanager (``monitoring_kit.monitoring``)."""

from __future__ import annotations

from monitoring_kit import monitoring

__all__ = ["monitoring"]
