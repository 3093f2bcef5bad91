"""The bound plan as an operator reads it before anything runs (``--dry-run``). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from opsbooks.define.params import redacted
from opsbooks.define.policies import human
from opsbooks.define.steps import Gate, Remote, WaitUntil
from opsbooks.plan.binding import Plan, PlannedStep

_KIND = {
    "command": "automated",
    "python": "automated (Python)",
    "manual": "manual: a person does this and confirms",
    "gate": "gate: a person decides",
    "wait": "wait",
    "verify": "verification",
    "notify": "notification",
    "branch": "branch",
    "remote": "remote",
}


def render_dry_run(plan: Plan, hosts: Mapping[str, list[str]] | None = None) -> str:
    """Every step, its kind, the exact command (secrets masked), gates and undo."""
    lines = [f"Dry run of {plan.name} (definition {plan.fingerprint}); nothing is executed."]
    params = redacted(plan.params)
    if params:
        lines.append("Parameters:")
        lines.extend(f"  {name} = {value!r}" for name, value in params.items())
    lines.append("Steps:")
    for number, planned in enumerate(plan.steps, start=1):
        lines.extend(_step(number, planned, plan, hosts or {}))
    return "\n".join(lines) + "\n"


def _step(
    number: int, planned: PlannedStep, plan: Plan, hosts: Mapping[str, list[str]]
) -> list[str]:
    head = f"{number:>3}. {planned.id}: {planned.title} [{_KIND.get(planned.kind, planned.kind)}]"
    out = [head]
    if planned.skip_reason:
        out.append(f"       skipped: {planned.skip_reason}")
    if planned.when:
        out.append(f"       only when: {planned.when}")
    if planned.shown:
        out.append(f"       $ {planned.shown}")
    item = planned.step
    if isinstance(item, Gate):
        asks = {"confirm": "asks to confirm", "ask": "asks for a value", "choose": "asks to choose"}
        out.append(f"       {asks[item.mode]}: {planned.text}")
        if item.choices:
            out.append(f"       choices: {', '.join(item.choices)}")
        if item.phrase:
            out.append(f"       requires typing: {item.phrase}")
    elif planned.text:
        out.append(f"       {planned.text}")
    if isinstance(item, WaitUntil):
        out.append(f"       polls {item.poll.describe()}")
    if isinstance(item, Remote):
        out.append(f"       on role {item.role!r}: {item.describe_rollout()}")
        if item.role in hosts:
            out.append(f"       hosts: {', '.join(hosts[item.role])}")
    if planned.retry:
        out.append(f"       retry: {planned.retry.describe()}")
    if planned.timeout:
        out.append(f"       timeout: {human(planned.timeout)}")
    if planned.undo:
        undo = plan.get(planned.undo)
        shown = f": $ {undo.shown}" if undo.shown else f": {undo.text or undo.title}"
        out.append(f"       undo {planned.undo}{shown}")
    return out
