"""The state one run accumulates while it walks its plan, owned by the runner.

Kept apart from ``StepEnv`` (the run's effects, built once and frozen) so that what
changes during a run is in one visible place: answers given, outputs published,
metrics printed, and the steps completed so far (what a rollback undoes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunState:
    """Answers, outputs, metrics and completed steps of the run in progress."""

    run_id: str
    answers: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    #: outputs remote steps published per host: name -> host -> value
    host_outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    #: failures the run went on past (``on_failure="continue"``), one line each
    warnings: list[str] = field(default_factory=list)
