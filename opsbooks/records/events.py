"""Typed, versioned events the runner emits; the audit log and console subscribe.

Events keep their value equality: they are public (``opsbooks.testing`` hands them to
a user's test, which may compare them), so the ``__eq__``/``__hash__`` each class
generates at import stay, though nothing in opsbooks compares one (issue 18, row 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from typing import Any, ClassVar, Protocol

VERSION = 1

#: values ``asdict`` would return as they are: no copy, no recursion
_PLAIN = frozenset({str, int, float, bool, type(None)})


@dataclass(frozen=True)
class Event:
    """Base of every event; a docstring on each class also spares ``dataclass`` building
    one from ``inspect.signature`` at import."""

    name: ClassVar[str] = "event"

    def fields(self) -> dict[str, Any]:
        """The event as a dict; the same as ``asdict``, without its deep copy for plain
        values (every audit line asks: two per step)."""
        found: dict[str, Any] = {"v": VERSION}
        for name in _names(type(self)):
            value = getattr(self, name)
            if type(value) not in _PLAIN:
                return {"v": VERSION, **asdict(self)}
            found[name] = value
        return found


_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _names(kind: type[Event]) -> tuple[str, ...]:
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in dataclass_fields(kind))
    return names


@dataclass(frozen=True)
class RunStarted(Event):
    """A run began (or a resume picked one up), with its params as shown."""

    name: ClassVar[str] = "run_started"
    runbook: str
    run_id: str
    who: str
    params: dict[str, Any]
    fingerprint: str
    resumed: bool
    steps: int


@dataclass(frozen=True)
class StepStarted(Event):
    """A step is about to run; ``command`` is the shown (redacted) command line."""

    name: ClassVar[str] = "step_started"
    step: str
    kind: str
    title: str
    index: int
    total: int
    command: str | None


@dataclass(frozen=True)
class AttemptFailed(Event):
    """One attempt of a retrying or polling step did not succeed; another follows."""

    name: ClassVar[str] = "attempt_failed"
    step: str
    attempt: int
    reason: str
    next_wait: float


@dataclass(frozen=True)
class GateAnswered(Event):
    """A gate was answered, by whom and through which prompter."""

    name: ClassVar[str] = "gate_answered"
    step: str
    kind: str
    answer: Any
    approver: str
    source: str
    waited: float
    question: str = ""  # redacted; shown when no person saw it asked (answers file, --yes)


@dataclass(frozen=True)
class ApprovalDecided(Event):
    """A signed decision on a gate as the waiting run judged it, after verifying it itself."""

    name: ClassVar[str] = "approval_decided"
    step: str
    decision: str
    principal: str  #: the verified signer; "" when the signature did not verify
    accepted: bool
    why: str
    reason: str = ""


@dataclass(frozen=True)
class HostFinished(Event):
    """One host of a remote step is done, ok or not."""

    name: ClassVar[str] = "host_result"
    step: str
    host: str
    ok: bool
    exit_code: int | None
    duration: float | None
    error: str
    #: the last lines of the host's output (redacted; empty for a quiet step)
    output: str = ""


@dataclass(frozen=True)
class StepFinished(Event):
    """A step reached its result (succeeded, failed, skipped, stopped ...)."""

    name: ClassVar[str] = "step_finished"
    step: str
    status: str
    duration: float
    exit_code: int | None = None
    reason: str = ""
    output_tail: str = ""
    attempts: int = 1


@dataclass(frozen=True)
class Compensated(Event):
    """An undo step ran for ``step`` during a rollback."""

    name: ClassVar[str] = "compensated"
    step: str
    undo: str
    status: str
    reason: str = ""


@dataclass(frozen=True)
class RunFinished(Event):
    """The run ended; ``resume`` says how to carry on when it can be resumed."""

    name: ClassVar[str] = "run_finished"
    outcome: str
    duration: float
    failed_step: str | None = None
    reason: str = ""
    resume: str = ""


@dataclass(frozen=True)
class FactRecorded(Event):
    """A named fact the run established (``incident.acknowledged``), as journaled."""

    name: ClassVar[str] = "fact"
    step: str
    fact: str
    value: Any
    at: float
    who: str = ""


@dataclass(frozen=True)
class Notice(Event):
    """A line for the operator that is not a step's output."""

    name: ClassVar[str] = "notice"
    message: str
    step: str | None = None


@dataclass(frozen=True)
class StepNote(Event):
    """A step's run-time ``note``, templated and redacted, shown as the step starts."""

    name: ClassVar[str] = "step_note"
    step: str
    text: str
    host: str | None = None


@dataclass(frozen=True)
class StepSections(Event):
    """The numbered headings of the sections a step is in, sent just before it starts
    (only for a step in a section); the console prints those it has not just shown."""

    name: ClassVar[str] = "step_sections"
    step: str
    headings: tuple[str, ...]


class Observer(Protocol):
    def __call__(self, event: Event) -> None: ...
