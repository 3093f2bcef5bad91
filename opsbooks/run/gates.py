"""Prompters answer gates: a terminal, an answers file, ``--yes``, or a test script.

Modes are objects chained in order, never boolean flags: the first prompter that
can answer does; the last one either asks a person or says why nobody could.
Every answer carries who gave it and when, for the journal and the audit trail.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal, Protocol

GateKind = Literal["confirm", "ask", "choose", "manual", "resume", "step"]
_YES = {"y", "yes", "true", "1", "approve", "approved", "done"}
_NO = {"n", "no", "false", "0", "decline", "declined"}
_SLICE = 0.2  # seconds between checks for a stop signal while a prompt waits


@dataclass(frozen=True)
class GateRequest:
    """A question the run needs answered before it can go on."""

    step_id: str
    kind: GateKind
    prompt: str
    title: str = ""
    choices: tuple[str, ...] = ()
    answer_type: type | None = None
    pattern: str | None = None
    phrase: str | None = None
    default: Any = None
    timeout: float | None = None
    context: tuple[str, ...] = ()
    #: a secret answer: read without echo, never shown, journaled or stored.
    secret: bool = False
    #: ``--yes`` answers this ask or choose with ``default`` (the gate's ``yes_default``)
    yes_default: bool = False
    #: an optional confirm (``on_decline="skip"``): the steps a "no" skips, which the
    #: question names, so nobody answers no expecting the run to stop
    skips: tuple[str, ...] | None = None
    #: signed approvals (``Gate(approvers=...)``): the role, the quorum, four-eyes; such a
    #: gate is answered only by ``Questions``' approval waiter, never by the prompters
    approvers: str | None = None
    quorum: int = 1
    four_eyes: bool = True
    #: returns a signal name once the run was asked to stop; a waiting prompt gives up then.
    cancelled: Callable[[], str | None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class GateAnswer:
    value: Any
    approver: str
    source: str
    asked_at: float
    answered_at: float

    @property
    def approved(self) -> bool:
        return self.value is not False


class NoAnswer(Exception):
    """Nobody could answer; the run stops at this gate, resumable."""

    def __init__(self, reason: str, *, timed_out: bool = False) -> None:
        self.reason = reason
        self.timed_out = timed_out
        super().__init__(reason)


class Prompter(Protocol):
    def answer(self, request: GateRequest) -> GateAnswer | None: ...


def coerce(request: GateRequest, raw: Any) -> Any:
    """Turn a raw answer into the gate's value, or raise ValueError saying what is wanted."""
    if request.kind in ("confirm", "manual", "resume") and request.phrase is None:
        if request.kind == "resume" and request.choices:
            return _choice(request, raw)
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        raise ValueError("answer yes or no")
    if request.phrase is not None:
        if raw is False or str(raw).strip().lower() in _NO:
            return False
        if str(raw).strip() != request.phrase:
            raise ValueError(f"type exactly {request.phrase!r} to confirm, or 'no' to decline")
        return True
    if request.kind in ("choose", "step"):
        return _choice(request, raw)
    wanted = request.answer_type or str
    if isinstance(raw, bool) and wanted is not bool:
        raise ValueError(f"expected a {wanted.__name__}, got a yes/no (in YAML, quote it: 'yes')")
    given = "a secret answer" if request.secret else repr(raw)  # never echo a secret
    try:
        value = _convert(wanted, raw)
    except (TypeError, ValueError):
        raise ValueError(f"expected a {wanted.__name__}, got {given}") from None
    if request.pattern and not re.fullmatch(request.pattern, str(value)):
        raise ValueError(f"must match {request.pattern}, got {given}")
    return value


def _convert(wanted: type, raw: Any) -> Any:
    if wanted is bool:
        text = str(raw).strip().lower()
        if isinstance(raw, bool):
            return raw
        if text in _YES | _NO:
            return text in _YES
        raise ValueError
    if wanted in (int, float) and isinstance(raw, str):
        return wanted(raw.strip())
    return raw if isinstance(raw, wanted) else wanted(raw)


def _choice(request: GateRequest, raw: Any) -> str:
    text = str(raw).strip()
    if text in request.choices:
        return text
    if text.isdigit() and 1 <= int(text) <= len(request.choices):
        return request.choices[int(text) - 1]
    raise ValueError(f"choose one of: {', '.join(request.choices)}")


@dataclass
class ScriptedPrompter:
    """Answers from a mapping (tests, drills, the answers file); unknown gates: no answer."""

    answers: Mapping[str, Any]
    approver: str
    source: str = "scripted"
    clock: Callable[[], float] = time.time
    used: list[str] = field(default_factory=list)

    def answer(self, request: GateRequest) -> GateAnswer | None:
        if request.step_id not in self.answers:
            return None
        at = self.clock()
        value = coerce(request, self.answers[request.step_id])
        self.used.append(request.step_id)
        return GateAnswer(value, self.approver, self.source, at, at)


@dataclass
class YesPrompter:
    """``--yes``: approves plain confirmations and manual steps, never phrases.

    An ask or a choose gets its default only when the gate declares ``yes_default=True``:
    a default is a suggestion to a person unless the author says it is safe unattended.
    """

    approver: str
    clock: Callable[[], float] = time.time

    def answer(self, request: GateRequest) -> GateAnswer | None:
        at = self.clock()
        if request.yes_default and request.default is not None and not request.secret:
            return GateAnswer(coerce(request, request.default), self.approver, "--yes", at, at)
        if request.kind not in ("confirm", "manual") or request.phrase is not None:
            return None
        return GateAnswer(True, self.approver, "--yes", at, at)


@dataclass
class NobodyPrompter:
    """The end of the chain when there is no terminal: say how to answer next time."""

    def answer(self, request: GateRequest) -> GateAnswer | None:
        answers = f"--answers FILE (a YAML or JSON mapping, e.g. `{request.step_id}: ...`)"
        hint = (
            f"pass --yes (it approves plain confirmations only) or {answers}"
            if request.kind in ("confirm", "manual") and request.phrase is None
            else f"give the answer in {answers}"
        )
        raise NoAnswer(
            f"gate {request.step_id!r} needs an answer and there is no terminal to ask on; "
            f"{hint}, or resume the run from a terminal"
        )


@dataclass
class TerminalPrompter:
    """Asks a person: shows the step and its context, re-asks until the answer is valid."""

    stdin: IO[str]
    stdout: IO[str]
    approver: str
    clock: Callable[[], float] = time.time

    def answer(self, request: GateRequest) -> GateAnswer | None:
        asked = self.clock()
        self._show(request)
        while True:
            raw = self._read(request)
            if raw == "" and request.default is not None:
                raw = request.default
            try:
                value = coerce(request, raw)
            except ValueError as exc:
                self.stdout.write(f"  ! {exc}\n")
                continue
            return GateAnswer(value, self.approver, "terminal", asked, self.clock())

    def _show(self, request: GateRequest) -> None:
        out = self.stdout
        out.write(f"\n== {request.title or request.step_id} ({request.kind}) ==\n")
        for line in request.context:
            out.write(f"   {line}\n")
        out.write(f"{request.prompt}\n")
        for number, choice in enumerate(request.choices, start=1):
            out.write(f"  {number}) {choice}\n")
        if request.timeout is not None:
            out.write(f"  (waiting up to {request.timeout:g}s)\n")
        out.write(f"  answering as {self.approver}\n")

    def _question(self, request: GateRequest) -> str:
        if request.phrase is not None:
            return f"Type {request.phrase!r} to confirm: "
        if request.kind == "manual":
            return "Done? [y/n]: "
        if request.kind == "confirm" and request.skips is not None:
            part = ", ".join(request.skips) or "nothing else"
            return f"Approve? [y/n] (no skips {part}; the run goes on): "
        if request.kind == "confirm":
            return "Approve? [y/n]: "
        if request.choices:
            return "Choice: "
        default = f" [{request.default}]" if request.default is not None else ""
        return f"Answer{default}: "

    def _read(self, request: GateRequest) -> str:
        # Echo goes off before the question is shown: the terminal echoes keys as they
        # are typed, long before the line is read, so turning it off later is too late.
        with _no_echo(self.stdin) if request.secret else contextlib.nullcontext(False) as quiet:
            self.stdout.write(self._question(request))
            self.stdout.flush()
            if request.timeout is not None or request.cancelled is not None:
                self._wait_for_input(request)
            try:
                line = self.stdin.readline()
            except OSError:  # EIO: the terminal hung up (ssh dropped, window closed)
                line = ""
        if quiet:
            self.stdout.write("\n")  # the Enter that ended the secret was not echoed either
        if line == "":
            raise NoAnswer(f"the terminal closed while gate {request.step_id!r} was waiting")
        return line.rstrip("\r\n")

    def _wait_for_input(self, request: GateRequest) -> None:
        """Wait for a line in short slices, so a timeout or a stop signal ends the wait.

        A signal handler only sets a flag and ``readline`` restarts after it (PEP 475),
        so without this a SIGTERM or SIGHUP at a gate would leave the run waiting forever.
        """
        deadline = None if request.timeout is None else self.clock() + request.timeout
        while True:
            if request.cancelled is not None:
                name = request.cancelled()
                if name:
                    raise NoAnswer(f"{name} received while gate {request.step_id!r} was waiting")
            wait = _SLICE if deadline is None else min(_SLICE, deadline - self.clock())
            if wait <= 0:
                raise NoAnswer(
                    f"no answer within {request.timeout:g}s at gate {request.step_id!r}",
                    timed_out=True,
                )
            try:
                ready, _, _ = select.select([self.stdin], [], [], wait)
            except (AttributeError, ValueError, OSError):  # not a real file: just read it
                return
            if ready:
                return


@contextlib.contextmanager
def _no_echo(stdin: IO[str]) -> Iterator[bool]:
    """Turn echo off while a secret is typed, when ``stdin`` is a terminal; yield whether.

    Set and restored with ``TCSANOW``: ``TCSAFLUSH`` would throw away what was typed.
    """
    try:
        fd = stdin.fileno()
        if not os.isatty(fd):
            raise ValueError("not a terminal")
        import termios

        before = termios.tcgetattr(fd)
    except (AttributeError, ValueError, OSError):
        yield False
        return
    quiet = [*before[:3], before[3] & ~termios.ECHO, *before[4:]]
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield True
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, before)


@dataclass
class ChainPrompter:
    """Ask each prompter in turn; the first answer wins."""

    prompters: Sequence[Prompter]

    def answer(self, request: GateRequest) -> GateAnswer:
        for prompter in self.prompters:
            found = prompter.answer(request)
            if found is not None:
                return found
        raise NoAnswer(f"nobody answered gate {request.step_id!r}")
