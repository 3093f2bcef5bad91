"""Layer 2, pure: ``plan()`` binds a runbook and its params into the frozen ``Plan``.

The Plan is the contract: the runner, the dry run and the renderers read only it.
"""

from __future__ import annotations

from opsbooks.plan.binding import Plan, PlannedStep, fingerprint, plan, with_outputs

__all__ = ["Plan", "PlannedStep", "fingerprint", "plan", "with_outputs"]
