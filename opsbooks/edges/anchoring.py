"""Anchor a run's audit chain: read the journal's anchor, and hand the head to the outside.

The journal is anchored after every audit line (``records/audit.py``); that protects
against an edited file, not against someone who can edit both the file and the journal.
For that, the head is printed at the end of every run and, with ``audit_anchor`` set to a
notify channel, sent there, so someone outside the machine holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from opsbooks.backends.notify import DeliveryFailed, deliver
from opsbooks.edges.config import Config
from opsbooks.edges.console import Console
from opsbooks.errors import Interrupted, JournalError
from opsbooks.records.audit import AuditLog, anchor_text
from opsbooks.records.events import Event, Observer
from opsbooks.records.journal import Journal


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
