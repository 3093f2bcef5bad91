"""Wiring for signed approvals: the waiter a run uses at gates with ``approvers``.

Built once per run by ``edges.session``, from ``[tool.opsbooks.approvals]`` (checked
here, so a malformed table is a ConfigError before any step runs) and the run's journal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from opsbooks.define.specs import GateSpec
from opsbooks.edges.config import Config
from opsbooks.plan.binding import Plan
from opsbooks.records.events import Event
from opsbooks.run.protocols import Clock

if TYPE_CHECKING:
    from opsbooks.run.approvals import ApprovalJournal, ApprovalWaiter


def approval_waiter(
    config: Config,
    bound: Plan,
    journal: ApprovalJournal,
    who: str,
    waits: Clock,
    say: Callable[[str], None],
    emit: Callable[[Event], None],
) -> ApprovalWaiter | None:
    """The waiter for ``bound``'s approval gates; None when it has none."""
    if not any(isinstance(s.spec, GateSpec) and s.spec.approvers for s in bound.steps):
        return None
    # lazy: signing and the approvals table only for a plan with an approval gate
    from opsbooks.backends.signing import SshKeygenVerifier
    from opsbooks.define.approvals import load_approval_settings
    from opsbooks.run.approvals import ApprovalWaiter

    settings = load_approval_settings(config.approvals)
    verifier = (
        SshKeygenVerifier(config.path(settings.allowed_signers), settings.namespace)
        if settings.allowed_signers
        else None
    )
    return ApprovalWaiter(journal, verifier, settings, bound.name, who, waits, say, emit)
