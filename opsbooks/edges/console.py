"""The operator's view of a run: step headers, streamed output, outcomes, resume hints."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from opsbooks.define.policies import human
from opsbooks.records.events import (
    ApprovalDecided,
    AttemptFailed,
    Compensated,
    Event,
    FactRecorded,
    GateAnswered,
    HostFinished,
    Notice,
    RunFinished,
    RunStarted,
    StepFinished,
    StepNote,
    StepSections,
    StepStarted,
)
from opsbooks.records.redaction import Redactor, StreamRedactor
from opsbooks.render.sections import Headings

_MARK = {
    "succeeded": "ok",
    "skipped": "skipped",
    "failed": "FAILED",
    "stopped": "STOPPED",
}

#: words whose dot ends no sentence (a purpose "... e.g. nginx, ..." is not cut there)
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "incl.")


def headline(purpose: str) -> str:
    """The first sentence of a purpose, else its whole first paragraph joined into one
    line; never a line of a wrapped sentence cut where the docstring wrapped it."""
    paragraph = " ".join(re.split(r"\n\s*\n", purpose.strip(), maxsplit=1)[0].split())
    for end in re.finditer(r"[.!?](?=\s|$)", paragraph):
        sentence = paragraph[: end.end()]
        last_word = sentence.rsplit(" ", 1)[-1].lstrip("(\"'").lower()
        if last_word not in _ABBREVIATIONS:
            return sentence
    return paragraph


class Console:
    """Writes redacted, human-readable progress; also a text stream for command output."""

    def __init__(
        self, stream: IO[str], redactor: Redactor, *, quiet: bool = False, purpose: str = ""
    ) -> None:
        self._stream = stream
        #: the runbook's purpose (its first sentence), printed under the run's first line
        self._purpose = headline(purpose)
        self._redactor = redactor
        self._quiet = quiet
        self._lock = threading.Lock()
        self._at_line_start = True
        self._stream_redactor = StreamRedactor(redactor)
        self._headings = Headings()  # a section's heading is printed once, as it starts
        self._beats = _Heartbeats(self.say)
        #: consecutive skips for one reason, shown as one line when there are many
        self._skips: list[StepFinished] = []

    def say(self, text: str) -> None:
        with self._lock:
            self._say(text)

    def _say(self, text: str) -> None:
        if not self._at_line_start:
            self._stream.write("\n")
        self._stream.write(self._redactor.text(text) + "\n")
        self._at_line_start = True
        self._stream.flush()

    # A file-like face so backends can stream command output through redaction. The
    # output arrives in chunks: a stream redactor holds back what may be half a secret.
    def write(self, text: str) -> int:
        if self._quiet or not text:
            return len(text)
        with self._lock:
            self._show(self._stream_redactor.feed(text))
        return len(text)

    def end_output(self) -> None:
        """The command's output ended: show what the stream redactor held back."""
        with self._lock:
            self._show(self._stream_redactor.drain())

    def _show(self, cleaned: str) -> None:
        if cleaned:
            lines = cleaned.split("\n")
            out = []
            for index, part in enumerate(lines):
                if index > 0:
                    out.append("\n")
                    self._at_line_start = True
                if part:
                    if self._at_line_start:
                        out.append("    | ")
                    out.append(part)
                    self._at_line_start = False
            self._stream.write("".join(out))
            self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()

    @contextmanager
    def heartbeat(self, label: str, every: float = 30.0) -> Iterator[None]:
        """While a long step is quiet, say every ``every`` seconds that it is still running."""
        with self._beats.beating(label, every):
            yield

    @contextmanager
    def paused(self) -> Iterator[None]:
        """While a person is asked (the live console stops drawing; lines need nothing)."""
        yield

    def close(self) -> None:
        """The run's session ends (the live console stops its region; lines need nothing)."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepSections):
            text = self._headings.lines(event.headings)
        else:
            text = describe(event)
        with self._lock:
            if not self._quiet:
                self._show(self._stream_redactor.drain())  # a step's output ends before events
            if self._held_skip(event):
                return
            if text:
                self._say(text)
            if isinstance(event, RunStarted) and self._purpose:
                self._say(f"  {self._purpose}")

    def _held_skip(self, event: Event) -> bool:
        """Hold a run of skips with one reason; show them when something else comes."""
        skip = event if isinstance(event, StepFinished) and event.status == "skipped" else None
        if skip is not None and (not self._skips or self._skips[0].reason == skip.reason):
            self._skips.append(skip)
            return True
        if self._skips:
            for line in skipped_lines(self._skips):
                self._say(line)
            self._skips = []
        if skip is not None:
            self._skips.append(skip)
            return True
        return False


class _Heartbeats:
    """One timer thread for a console's heartbeats, instead of a thread per step.

    Starting and joining a thread for every step cost about 0.4 ms of each one here
    (``python -m bench.ab_fixes``). The timer starts at the first heartbeat, sleeps until the next
    beat is due (a step that ends does not wake it), and ends once no heartbeat has
    begun or ended for ``linger`` seconds, so a finished run leaves no thread. A beat
    is said while the condition is held: once ``beating`` has exited, its label is
    never said again.
    """

    def __init__(self, say: Callable[[str], None], *, linger: float = 1.0) -> None:
        self._say = say
        self._linger = linger
        self._wake = threading.Condition()
        #: each live heartbeat (an object of its own) -> [label, started, every, due]
        self._live: dict[object, list[Any]] = {}
        self._thread: threading.Thread | None = None
        self._last = 0.0  # when a heartbeat last began or ended
        self._next_wake = 0.0  # when the timer means to look again

    @contextmanager
    def beating(self, label: str, every: float) -> Iterator[None]:
        token = object()
        with self._wake:
            now = self._last = time.monotonic()
            self._live[token] = [label, now, every, now + every]
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
                self._thread.start()
            elif now + every < self._next_wake:
                self._wake.notify()  # due before the timer would look
        try:
            yield
        finally:
            with self._wake:
                del self._live[token]
                self._last = time.monotonic()

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                for beat in self._live.values():
                    label, started, every, due = beat
                    if due <= now:
                        self._say(f"    ... {label} still running ({human(now - started)})")
                        beat[3] = now + every
                if self._live:
                    self._next_wake = min(beat[3] for beat in self._live.values())
                elif now - self._last >= self._linger:
                    self._thread = None  # the next heartbeat starts a new timer
                    return
                else:
                    self._next_wake = self._last + self._linger
                self._wake.wait(max(0.0, self._next_wake - now))


class RedactedStream:
    """A text stream that redacts each write: what a terminal prompter prints goes here."""

    def __init__(self, stream: IO[str], redactor: Redactor) -> None:
        self._stream = stream
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._stream.write(self._redactor.text(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def fileno(self) -> int:
        return self._stream.fileno()


def skipped_lines(skips: list[StepFinished]) -> list[str]:
    """Skips of one reason: a line each when few, else one line naming them all (a tree
    that ends at a diagnosis skips every other leaf, which is no news to the operator)."""
    if len(skips) <= _SKIPS_LISTED:
        return [f"    {s.step}: skipped ({s.reason})" for s in skips]
    names = ", ".join(s.step for s in skips)
    return [f"    {len(skips)} steps skipped ({skips[0].reason}): {names}"]


#: up to this many skips for one reason are shown a line each
_SKIPS_LISTED = 3


@functools.singledispatch
def describe(event: Event) -> str | None:
    """The console line(s) for ``event``; ``None`` for events the operator need not see."""
    return None


@describe.register
def _run_started(event: RunStarted) -> str | None:
    verb = "Resuming" if event.resumed else "Running"
    return f"{verb} {event.runbook} as run {event.run_id} (by {event.who})"


@describe.register
def _step_started(event: StepStarted) -> str | None:
    command = f"\n    $ {event.command}" if event.command else ""
    if event.index == 0:  # an undo step, outside the numbered plan
        return f"  undo: {event.title}{command}"
    return f"[{event.index}/{event.total}] {event.step}: {event.title} ({event.kind}){command}"


@describe.register
def _attempt_failed(event: AttemptFailed) -> str | None:
    wait = f"; next try in {human(event.next_wait)}" if event.next_wait else ""
    return f"    attempt {event.attempt} not yet: {event.reason}{wait}"


@describe.register
def _gate_answered(event: GateAnswered) -> str | None:
    answered = f"    answered {_show(event.answer)} by {event.approver} via {event.source}"
    if event.source == "terminal" or not event.question:
        return answered  # the person at the terminal has just read the question
    return f"    asked: {' '.join(event.question.split())}\n{answered}"


@describe.register
def _host_finished(event: HostFinished) -> str | None:
    state = "ok" if event.ok else f"FAILED {event.error}".rstrip()
    # the host's own last lines, prefixed by its name (the journal keeps more)
    said = [line for line in event.output.splitlines() if line.strip()][-HOST_LINES:]
    lines = [f"    host {event.host}: {state}", *(f"      {event.host} | {x}" for x in said)]
    return "\n".join(lines)


#: how many of a host's last output lines the console shows when it finishes
HOST_LINES = 5


@describe.register
def _step_finished(event: StepFinished) -> str | None:
    if event.status == "skipped":
        return f"    {event.step}: skipped ({event.reason})"  # it had no start line
    mark = _MARK.get(event.status, event.status)
    why = f": {event.reason}" if event.reason and event.status != "stopped" else ""
    return f"    -> {mark} in {human(event.duration)}{why}"


@describe.register
def _compensated(event: Compensated) -> str | None:
    why = f": {event.reason}" if event.reason else ""
    return f"  undo {event.step} via {event.undo}: {event.status}{why}"


@describe.register
def _run_finished(event: RunFinished) -> str | None:
    lines = [f"Run {event.outcome} in {human(event.duration)}"]
    if event.failed_step:
        lines[0] += f" at step {event.failed_step}"
    if event.reason:
        lines.append(f"  reason: {event.reason}")
    if event.resume:
        lines.append(f"  to resume: {event.resume}")
    return "\n".join(lines)


@describe.register
def _step_note(event: StepNote) -> str | None:
    return f"    {event.host + ': ' if event.host else ''}{event.text}"


@describe.register
def _fact(event: FactRecorded) -> str | None:
    stamp = time.strftime("%H:%M:%SZ", time.gmtime(event.at))
    value = "" if event.value is None else f" = {event.value}"
    by = f", by {event.who}" if event.who else ""
    return f"    recorded {event.fact}{value} ({stamp}{by})"


@describe.register
def _approval(event: ApprovalDecided) -> str | None:
    """Each signed decision as the waiting run judged it: who, and whether it counted."""
    who = event.principal or "an unverified signer"
    reason = f" ({' '.join(event.reason.split())})" if event.reason else ""
    if event.accepted:
        return f"    {event.decision} by {who}, signature verified{reason}"
    return f"    {event.decision} by {who} refused: {event.why}{reason}"


@describe.register
def _notice(event: Notice) -> str | None:
    return f"  note: {event.message}"


def _show(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return repr(value)
