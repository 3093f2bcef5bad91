"""Outcome records: what one step produced and what a whole run produced.

Built once and frozen, like pytest's ``CallInfo``: a later phase that knows more (the
retry loop, the runner's output check) makes a new record with ``dataclasses.replace``
instead of editing the one it was handed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from opsbooks.errors import OpsbooksError
from opsbooks.plan.state import RunOutcome, StepStatus


def _frozen_map(value: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True)
class StepResult:
    """One step's result: ok or not, why, its output and the facts the runner journals."""

    ok: bool
    output: str = ""
    exit_code: int | None = None
    reason: str = ""
    attempts: int = 1
    duration: float = 0.0
    route: str | None = None
    answer: Any = None
    timed_out: bool = False
    detail: Mapping[str, Any] = field(default_factory=_frozen_map)
    #: ``::output`` lines from the whole of a command's output, not just the kept tail
    published: Mapping[str, str] = field(default_factory=_frozen_map)
    #: a ``@step``'s return value: its output, published under the step's id
    returned: str | None = None
    #: what each host of a remote step published: host -> {name: value} (``host_outputs``)
    host_published: Mapping[str, Mapping[str, str]] = field(default_factory=_frozen_map)

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", _frozen_map(self.detail))
        object.__setattr__(self, "published", _frozen_map(self.published))

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.output.rstrip("\n").splitlines()[-lines:])


@dataclass(frozen=True)
class RunReport:
    """What a run (or a resumed run) ended with; ``exit_code`` follows the house codes."""

    run_id: str
    runbook: str
    outcome: RunOutcome
    steps: Mapping[str, StepStatus]
    answers: Mapping[str, Any]
    outputs: Mapping[str, str]
    duration: float
    failed_step: str | None = None
    reason: str = ""
    error: OpsbooksError | None = None
    resume_command: str = ""
    metrics: Mapping[str, Any] = field(default_factory=_frozen_map)
    #: the ``Diagnosis`` leaf the run ended at (its step id) and its finding, if any
    diagnosis: str | None = None
    finding: str = ""

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code
