"""The documented import path for invoke: ``from opsbooks.tasks import collection``."""

from __future__ import annotations

from opsbooks.edges.tasks import collection, runbook_task

__all__ = ["collection", "runbook_task"]
