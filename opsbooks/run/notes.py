"""A step's run-time note: shown once as the step starts, or once per host.

A note that names ``{host.*}`` (``note="Stopping nginx on {host.name}..."``) on a step
that runs on hosts is bound per host as each host starts; any other note is shown
once, when the step starts (``run.stepping``). Both are redacted first. A note is text
for people: an output it names that this run has not published reads
``{outputs.NAME: not available}``; it never fails the step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.template import TemplateError, roots
from opsbooks.errors import OpsbooksError
from opsbooks.plan.binding import PlannedStep, absent_placeholders
from opsbooks.records.events import StepNote
from opsbooks.run.execute import StepEnv

if TYPE_CHECKING:
    from opsbooks.backends.hosts.inventory import Host


def per_host(planned: PlannedStep) -> bool:
    """Whether the note names ``{host.*}``, so each host gets its own line."""
    try:
        return bool(planned.note_template) and "host" in roots(planned.note_template)
    except TemplateError:
        return False


def host_note(env: StepEnv, planned: PlannedStep, host: Host, values: Mapping[str, Any]) -> None:
    """Show ``planned``'s note bound for ``host`` as that host starts, if it names one."""
    if not per_host(planned):
        return
    # lazy: a local run's notes never bind a host, so it loads no inventory code
    from opsbooks.backends.hosts.inventory import bound_for_host

    found = dict(values.get(OUTPUTS_ROOT) or {})
    values = {**values, OUTPUTS_ROOT: {**absent_placeholders(planned, found), **found}}
    try:
        shown = bound_for_host(planned.note_template, host, values, shell=False).shown
    except (TemplateError, OpsbooksError):
        shown = planned.note or ""  # an unknown host var: the note as planned
    env.emit(StepNote(planned.id, env.redact(shown), host=host.name))
