"""What a resume refuses because a secret was never stored: outputs derived from one.

An output that contained a secret was journaled redacted (and flagged tainted); binding
its mask into a later step would run that step with a wrong value, silently. So a
resume whose remaining steps need such an output is refused before it touches the run.
"""

from __future__ import annotations

from opsbooks.define import outputs
from opsbooks.errors import BadInput
from opsbooks.plan.binding import Plan
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import Journal, RunRecord

S = StepStatus
_DONE = (S.SUCCEEDED, S.SKIPPED)


def check_tainted_outputs(journal: Journal, record: RunRecord, bound: Plan) -> None:
    """Refuse (exit 2, nothing changed) when a step still to run needs a tainted output."""
    transitions = journal.current(record.id)  # a tainted output is in a detail
    producers: dict[str, str] = {}
    for t in transitions:
        if t.status is S.SUCCEEDED:
            for name in outputs.tainted([t.detail]):
                producers[name] = t.step_id
    if not producers:
        return
    states = journal.step_states(record.id)
    for planned in bound.steps:
        if states.get(planned.id, S.PENDING) in _DONE:
            continue
        needed = [name for name in planned.uses_outputs if name in producers]
        if needed:
            name = needed[0]
            raise BadInput(
                f"cannot resume run {record.id}: step {planned.id!r} uses {{outputs.{name}}}, "
                f"which step {producers[name]!r} derived from a secret; a secret is never "
                f"stored, so its value is gone and its mask is no value to run with. Nothing "
                f"was changed. Start a new run of {record.runbook}, or publish a value that "
                f"does not contain the secret (pass the secret itself by environment)."
            )
