"""Names bound when a step runs besides outputs: gate answers and the run id.

``{answers.GATE_ID}`` and ``{run_id}`` are not known when the plan is made; the plan
keeps their placeholders (so pages and dry runs show them as written) and the runner
binds them, with the outputs, at the moment the step starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from opsbooks.define.template import ANSWERS, RUN_ID, RUNBOOK, TemplateError


class RunValues(Protocol):
    """What a run knows that a template may name: its id and the answers given so far."""

    @property
    def run_id(self) -> str: ...

    @property
    def answers(self) -> Mapping[str, Any]: ...


def late_values(uses: Iterable[str], run: RunValues | None) -> dict[str, Any]:
    """The values for ``uses`` (``answers.GATE``, ``run_id``) from ``run``.

    Raises ``TemplateError`` naming the gate when its answer is not there (the gate
    was skipped, or the run started after it). Without a run, nothing is bound.
    """
    uses = list(uses)
    if run is None or not uses:
        return {}
    gates = [name.partition(".")[2] for name in uses if name.startswith(ANSWERS + ".")]
    absent = [gate for gate in gates if gate not in run.answers]
    if absent:
        raise TemplateError(
            f"the answer of gate {absent[0]!r} is not available: the gate did not run "
            f"in this run (skipped, or before --start-at)"
        )
    return {ANSWERS: dict(run.answers), RUN_ID: run.run_id}


def run_values(params: Mapping[str, Any], run: RunValues, runbook: str) -> dict[str, Any]:
    """``params`` with what a step on hosts may also name: answers, run id, runbook."""
    return {ANSWERS: dict(run.answers), RUN_ID: run.run_id, RUNBOOK: runbook, **params}


def run_env(run: RunValues, runbook: str) -> dict[str, str]:
    """``OPSBOOKS_RUN_ID`` and ``OPSBOOKS_RUNBOOK`` as env templates (braces escaped), so a
    command on a host can point at the run it belongs to, as a local one can."""
    escape = str.maketrans({"{": "{{", "}": "}}"})
    return {
        "OPSBOOKS_RUN_ID": run.run_id.translate(escape),
        "OPSBOOKS_RUNBOOK": runbook.translate(escape),
    }
