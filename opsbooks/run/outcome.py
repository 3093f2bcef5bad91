"""What one step attempt produced, and what a whole run produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsbooks.errors import OpsbooksError
from opsbooks.plan.state import RunOutcome, StepStatus


@dataclass
class StepResult:
    ok: bool
    output: str = ""
    exit_code: int | None = None
    reason: str = ""
    attempts: int = 1
    duration: float = 0.0
    route: str | None = None
    answer: Any = None
    stopped: bool = False
    timed_out: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    #: ``::output`` lines from the whole of a command's output, not just the kept tail
    published: dict[str, str] = field(default_factory=dict)

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.output.rstrip("\n").splitlines()[-lines:])


@dataclass
class RunReport:
    run_id: str
    runbook: str
    outcome: RunOutcome
    steps: dict[str, StepStatus]
    answers: dict[str, Any]
    outputs: dict[str, str]
    duration: float
    failed_step: str | None = None
    reason: str = ""
    error: OpsbooksError | None = None
    resume_command: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code
