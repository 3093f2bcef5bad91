"""The bound plan as an operator reads it before anything runs (``--dry-run``). Pure."""

from __future__ import annotations

from collections.abc import Mapping

from opsbooks.define.params import redacted
from opsbooks.define.policies import human
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.render.cases import when_known
from opsbooks.render.diagnosis import leaves_dry
from opsbooks.render.gate_options import gate_options
from opsbooks.render.keywords import keyword_dry_run
from opsbooks.render.kinds import renderer_for
from opsbooks.render.sections import dry_run


def render_dry_run(plan: Plan, hosts: Mapping[str, list[str]] | None = None) -> str:
    """Every step, its kind, the exact command (secrets masked), gates and undo."""
    lines = [f"Dry run of {plan.name} (definition {plan.fingerprint}); nothing is executed."]
    params = redacted(plan.params)
    if params:
        lines.append("Parameters:")
        lines.extend(f"  {name} = {value!r}" for name, value in params.items())
    lines.append("Steps:")
    if plan.sections:  # numbered 1, 2, 2.1 under a line per section
        lines += dry_run(plan, lambda number, planned: _step(number, planned, plan, hosts or {}))
        return "\n".join([*lines, *leaves_dry(plan)]) + "\n"
    for number, planned in enumerate(plan.steps, start=1):
        lines.extend(_step(number, planned, plan, hosts or {}))
    return "\n".join([*lines, *leaves_dry(plan)]) + "\n"  # a tree: the leaves it ends at


def _step(
    number: int | str, planned: PlannedStep, plan: Plan, hosts: Mapping[str, list[str]]
) -> list[str]:
    renderer = renderer_for(planned.kind)
    head = f"{number:>3}. {planned.id}: {planned.title} [{renderer.dry_label or planned.kind}]"
    out = [head]
    if planned.skip_reason:
        out.append(f"       skipped: {planned.skip_reason}")
    if planned.when:
        out.append(f"       only when: {planned.when}{when_known(planned, plan)}")
    if planned.shown:
        out.append(f"       $ {planned.shown}")
    if renderer.dry_run is not None:
        out.extend(f"       {line}" for line in renderer.dry_run(planned))
    elif planned.text:
        out.append(f"       {planned.text}")
    out.extend(f"       {line[0].lower()}{line[1:]}" for line in gate_options(planned, plan))
    spec = planned.spec  # steps on hosts: name the resolved hosts (by role or hosts list)
    role = getattr(spec, "hosts", None) or getattr(spec, "role", None)
    if isinstance(role, str) and role in hosts:
        out.append(f"       hosts: {', '.join(hosts[role])}")
    if planned.retry:
        out.append(f"       retry: {planned.retry.describe()}")
    if planned.timeout:
        out.append(f"       timeout: {human(planned.timeout)}")
    out.extend(f"       {line}" for line in keyword_dry_run(planned))
    if planned.undo:
        undo = plan.get(planned.undo)
        shown = f": $ {undo.shown}" if undo.shown else f": {undo.text or undo.title}"
        out.append(f"       undo {planned.undo}{shown}")
    return out
