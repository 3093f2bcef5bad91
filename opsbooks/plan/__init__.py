"""Layer 2, pure: ``plan()`` binds a runbook and its params into the frozen ``Plan``.

The Plan is the contract: the runner, the dry run and the renderers read only it.
"""

from __future__ import annotations

from opsbooks.plan.binding import Plan, PlannedStep, fingerprint, plan, with_outputs
from opsbooks.plan.info import RunbookInfo

__all__ = ["Plan", "PlannedStep", "RunbookInfo", "fingerprint", "plan", "with_outputs"]
