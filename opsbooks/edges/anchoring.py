"""Anchor a run's audit chain: read the journal's anchor, and hand the head to the outside.

The journal is anchored after every audit line (``records/audit.py``); that protects
against an edited file, not against someone who can edit both the file and the journal.
For that, the head is printed at the end of every run and, with ``audit_anchor`` set to a
notify channel, sent there, so someone outside the machine holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from opsbooks.backends.notify import DeliveryFailed, deliver
from opsbooks.edges.config import Config
from opsbooks.edges.console import Console
from opsbooks.errors import Interrupted, JournalError
from opsbooks.records.audit import AuditLog, anchor_text
from opsbooks.records.audit_gates import audited_gates
from opsbooks.records.events import Event, GateAnswered, Observer
from opsbooks.records.journal import Journal
from opsbooks.records.redaction import Redactor


class AuditedEvents:
    """A run's events: the audit line first (anchored), then every other observer."""

    def __init__(self, audit: AuditLog, others: Sequence[Observer]) -> None:
        self._audit = audit
        self._others = tuple(others)

    def emit(self, event: Event) -> None:
        """Write the event's audit line and anchor it (its own commit), then show it."""
        self._audit.write(event.name, **event.fields())
        self._show(event)

    def recorded(self, event: Event, record: Callable[[str | None], None]) -> None:
        """Write the line, hand its anchor to ``record`` (one commit), then show it.

        A line the disk refused stops the run (``Interrupted``), but the transition is
        still recorded first, as when the anchor had its own commit: a step that ran
        keeps its result, and resume goes on from there.
        """
        try:
            anchor = self._audit.line(event.name, **event.fields())
        except Interrupted:
            record(None)
            raise
        record(anchor)
        self._show(event)

    def _show(self, event: Event) -> None:
        for observer in self._others:
            observer(event)


def run_audit(journal: Journal, run_id: str, path: Path, redactor: Redactor) -> AuditLog:
    """The run's audit file, anchored in the journal at every line.

    A resume's file must verify against the journal's anchor before anything is
    appended (a resume never hides a broken chain); then a gate decision the journal
    holds and the file lacks (the process was killed between the two) gets its line.
    """
    expected = recorded_anchor(journal, run_id)
    audit = AuditLog(
        path,
        run_id,
        redactor,
        anchor=lambda anchor: journal.set_audit_head(run_id, anchor),  # at every event
        expected=expected,
    )
    if expected is not None:
        _audit_lost_gate(journal, run_id, audit)
    return audit


def _audit_lost_gate(journal: Journal, run_id: str, audit: AuditLog) -> None:
    """Write the line of the journal's last gate decision if the file lacks it.

    The decision is journaled, then its line written; a kill between the two leaves
    exactly one decision unaudited, the last. The journal's row is the durable record of
    who decided, how and when (its answer already redacted), so the line is written
    from it, marked ``recovered``, before the resumed run asks anything: the file and
    the journal agree again, decision for decision, in order.
    """
    gates = journal.gates(run_id)
    if not gates or len(gates) != audited_gates(audit.path) + 1:
        return  # in step, or not this window: ``audit verify`` says what differs
    gate = gates[-1]
    event = GateAnswered(
        gate.step_id,
        gate.mode,
        gate.answer,
        gate.approver,
        gate.source,
        gate.answered_at - gate.asked_at,
        question=gate.prompt,
    )
    audit.write(
        event.name,
        **event.fields(),
        recovered="journaled just before the process died; this line written on resume",
    )


def recorded_anchor(journal: Journal, run_id: str) -> str | None:
    """The anchor the journal holds for ``run_id``; ``None`` for a run not yet recorded."""
    try:
        record = journal.get_run(run_id)
    except JournalError:
        return None
    return record.audit_head if record.id == run_id else None


def announce_head(audit: AuditLog, config: Config, console: Console) -> None:
    """Print the chain head at the end of a run; send it to ``audit_anchor`` if configured."""
    if audit.lines == 0:
        return  # refused before its first event: nothing to anchor
    message = f"audit head of run {audit.run_id}: {audit.head} ({audit.lines} lines)"
    console.say(message)
    if not config.audit_anchor:
        return
    channel = config.notify.get(config.audit_anchor)
    if channel is None:
        console.say(
            f"audit anchor NOT sent: notify channel {config.audit_anchor!r} (audit_anchor) "
            f"is not configured; keep the head above somewhere off this machine"
        )
        return
    try:
        where = deliver(
            channel,
            message,
            meta={"run_id": audit.run_id, "audit_head": audit.head},
            resolve=config.path,
            say=console.say,
        )
    except (DeliveryFailed, OSError) as exc:
        console.say(f"audit anchor NOT sent to {config.audit_anchor!r}: {exc}")
        return
    console.say(f"audit anchor sent to {where}")


def final_anchor(journal: Journal, run_id: str, audit: AuditLog) -> None:
    """Anchor once more at the end: events written before the run row existed were not."""
    if audit.lines:
        journal.set_audit_head(run_id, anchor_text(audit.head, audit.lines))
