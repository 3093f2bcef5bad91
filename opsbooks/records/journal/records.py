"""What the journal stores, as values, and how a stored row becomes one.

A row that does not decode (edited by hand, truncated, from a newer schema) is a
``JournalError`` saying so, never a traceback: history and resume must fail clearly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from opsbooks.errors import JournalError
from opsbooks.plan.state import RunOutcome, StepStatus


@dataclass(frozen=True)
class RunRecord:
    """A run as the journal holds it: what ran, for whom, where, and how it ended."""

    id: str
    runbook: str
    fingerprint: str
    params: dict[str, Any]
    options: dict[str, Any]
    who: str
    host: str
    pid: int
    started_at: float
    ended_at: float | None = None
    outcome: str = RunOutcome.RUNNING.value
    failed_step: str | None = None
    reason: str | None = None
    audit_head: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True)
class Transition:
    """One change of a step's status, in journal order (``seq``)."""

    seq: int
    run_id: str
    step_id: str
    status: StepStatus
    at: float
    attempt: int = 0
    exit_code: int | None = None
    duration: float | None = None
    output_tail: str = ""
    reason: str = ""
    who: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GateRecord:
    """A gate's question and the answer it got, journaled as it was given."""

    run_id: str
    step_id: str
    mode: str
    prompt: str
    answer: Any
    approver: str
    source: str
    asked_at: float
    answered_at: float


@dataclass(frozen=True)
class FactRecord:
    """A named fact a run established: a milestone's time (``incident.acknowledged``),
    or a value (``incident.severity`` = ``SEV2``), with the step and person behind it.

    Facts are what reports and statistics read (MTTR from ``incident.detected`` to
    ``incident.resolved``), so they are rows of their own rather than text in a log.
    """

    run_id: str
    step_id: str
    name: str
    value: Any
    at: float
    who: str = ""


@dataclass(frozen=True)
class ApprovalRecord:
    """A signed decision on a gate (``approve``/``deny``), accepted or refused and why;
    or the waiting run's own ``request`` (what it needs) and ``closed`` rows.

    ``payload`` is the canonical text that was signed, ``signature`` the SSH signature;
    the waiting run verifies both again before it counts a decision.
    """

    run_id: str
    step_id: str
    decision: str
    principal: str
    reason: str
    payload: str
    signature: str
    accepted: bool
    why: str
    at: float
    seq: int = 0


@dataclass(frozen=True)
class HostRecord:
    """One host's result of a remote step."""

    run_id: str
    step_id: str
    host: str
    ok: bool
    exit_code: int | None
    duration: float | None
    output_tail: str
    error: str
    at: float


def malformed(what: str, value: Any) -> JournalError:
    return JournalError(
        f"the journal holds a malformed {what}: {str(value)[:80]!r}. The journal was not "
        f"changed; restore it from a backup or move it aside to start a fresh one."
    )


def loads_json(text: str, what: str, kind: type | None = None) -> Any:
    try:
        value = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise malformed(what, text) from None
    if kind is not None and not isinstance(value, kind):
        raise malformed(what, text)
    return value


#: each status by its stored value: a dict lookup, where ``StepStatus(value)`` (the
#: enum's own lookup) cost more than the rest of a row's decoding
_STATUSES: dict[Any, StepStatus] = {s.value: s for s in StepStatus}


def step_status_of(value: Any) -> StepStatus:
    try:
        return _STATUSES[value]
    except (KeyError, TypeError):  # TypeError: an unhashable value
        raise malformed("step status", value) from None


def number(value: Any, what: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise malformed(what, value)
    return value


def field_names(record: type) -> tuple[str, ...]:
    """The columns that hold ``record``'s fields, in order: its table's names for them."""
    return tuple(f.name for f in fields(record))


def run_from_row(row: tuple[Any, ...]) -> RunRecord:
    """Decode a row selected with ``field_names(RunRecord)``."""
    data = dict(zip([f.name for f in fields(RunRecord)], row, strict=True))
    data["params"] = loads_json(data["params"], "params record", dict)
    data["options"] = loads_json(data["options"], "options record", dict)
    data["metrics"] = loads_json(data["metrics"], "metrics record", dict)
    data["started_at"] = number(data["started_at"], "run start time")
    data["ended_at"] = number(data["ended_at"], "run end time", optional=True)
    return RunRecord(**data)


#: how many columns a transition row has (``field_names(Transition)``)
_TRANSITION_WIDTH = len(fields(Transition))


def transition_from_row(row: tuple[Any, ...]) -> Transition:
    """Decode a row selected with ``field_names(Transition)``.

    Positional, with no JSON parse for the empty detail most rows carry: a resume and
    ``history`` decode every row of a run, and the generic version (a dict per row,
    ``fields()`` per row, ``json.loads("{}")``) was most of a long run's resume."""
    if len(row) != _TRANSITION_WIDTH:
        raise malformed("transition row", row)
    seq, run_id, step_id, status, at, attempt, exit_code, duration, tail, reason, who, text = row
    detail = {} if text == "{}" else loads_json(text, "transition detail", dict)
    status, at = step_status_of(status), number(at, "transition time")
    return Transition(seq, run_id, step_id, status, at, attempt, exit_code, duration, tail,
                      reason, who, detail)  # fmt: skip


def gate_from_row(row: tuple[Any, ...]) -> GateRecord:
    """Decode a row selected with ``field_names(GateRecord)``."""
    return GateRecord(row[0], row[1], row[2], row[3], loads_json(row[4], "gate answer"), *row[5:])


def fact_from_row(row: tuple[Any, ...]) -> FactRecord:
    """Decode a row selected with ``field_names(FactRecord)``."""
    at = number(row[4], "fact time")
    return FactRecord(row[0], row[1], row[2], loads_json(row[3], "fact value"), at, row[5])


def approval_from_row(row: tuple[Any, ...]) -> ApprovalRecord:
    """Decode a row selected with ``field_names(ApprovalRecord)``."""
    at = number(row[9], "approval time")
    run_id, step_id, decision, principal, reason, payload, signature = row[:7]
    seq = int(number(row[10], "approval seq"))
    texts = (run_id, step_id, decision, principal, reason, payload, signature)
    return ApprovalRecord(*texts, accepted=bool(row[7]), why=row[8], at=at, seq=seq)


def damaged_run(where: str, run_id: str) -> JournalError:
    return JournalError(
        f"the journal at {where} is damaged: run {run_id!r} is listed but cannot be read. "
        f"Keep a copy and recover it (see docs/reliability.md)."
    )


def unknown_run(where: str, run_id: str, matches: list[str]) -> JournalError:
    """No run, or several, start with ``run_id``: say which, and how to find the one."""
    if len(matches) > 1:
        listed = ", ".join(matches[:10])
        more = f" and {len(matches) - 10} more" if len(matches) > 10 else ""
        return JournalError(
            f"run id {run_id!r} is ambiguous: it starts {len(matches)} runs ({listed}{more}); "
            f"type more of the id"
        )
    return JournalError(
        f"no run {run_id!r} in the journal at {where}. Run `opsbooks history` to list runs."
    )


def host_from_row(row: tuple[Any, ...]) -> HostRecord:
    """Decode a row selected with ``field_names(HostRecord)``."""
    return HostRecord(row[0], row[1], row[2], bool(row[3]), *row[4:])
