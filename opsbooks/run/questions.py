"""The questions a run asks a person: a gate's or a manual step's, and resume's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsbooks.define.policies import seconds
from opsbooks.define.steps import Gate, Manual
from opsbooks.define.template import bind
from opsbooks.plan.binding import PlannedStep
from opsbooks.run.gates import GateRequest

RESUME_CHOICES = ("re-run", "mark-done", "abort")


def request_for(
    planned: PlannedStep, context: tuple[str, ...] = (), values: Mapping[str, Any] | None = None
) -> GateRequest | None:
    """The question a gate or manual step asks; None for steps that ask nothing.

    ``values`` binds the confirmation phrase (``phrase="{environment}"``) to the params.
    """
    item = planned.step
    if isinstance(item, Manual):
        return GateRequest(
            step_id=planned.id,
            kind="manual",
            prompt=planned.text or "",
            title=planned.title,
            context=context,
        )
    if not isinstance(item, Gate):
        return None
    return GateRequest(
        step_id=planned.id,
        kind=item.mode,
        prompt=planned.text or item.prompt,
        title=planned.title,
        choices=tuple(item.choices),
        answer_type=item.answer_type,
        pattern=item.pattern,
        phrase=None if item.phrase is None else bind(item.phrase, values or {}, shell=False).text,
        default=item.default,
        timeout=None if item.gate_timeout is None else seconds(item.gate_timeout),
        context=context,
    )


def resume_request(step_id: str, title: str) -> GateRequest:
    """Asked on resume when a non-idempotent step was in flight at a crash."""
    return GateRequest(
        step_id=f"resume:{step_id}",
        kind="resume",
        title=f"Resume: {title}",
        prompt=(
            f"Step {step_id!r} was running when the previous attempt stopped, and it is not "
            f"idempotent. Check whether it completed. Re-run it, mark it done, or abort?"
        ),
        choices=RESUME_CHOICES,
    )
