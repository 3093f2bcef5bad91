"""Troubleshooting trees: automated checks and decisions that end at a diagnosis.

Each runbook probes a real system step by step (``python -m opsbooks_playbooks.actions.checks``
and ``opsbooks_playbooks.actions.diagnose``), branches on what each check publishes, and ends
at an ``ob.Diagnosis`` leaf: the finding, its resolution and the commands to apply
it, or an escalation to the next support level when the tree cannot decide.
"""

from __future__ import annotations
