"""Which console a run gets: the live screen on a terminal, plain lines anywhere else.

The choice is made here, from the stream and the environment, so that rich is imported
only when output goes to a terminal: a pipe, a CI log or ``TERM=dumb`` gets today's
plain lines from :class:`~opsbooks.edges.console.Console`, without loading rich.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Any, cast

from opsbooks.edges.console import Console, RedactedStream
from opsbooks.edges.requests import Surroundings
from opsbooks.edges.screen import Target
from opsbooks.edges.tty import on_terminal, wants_color
from opsbooks.records.redaction import Redactor
from opsbooks.run.gates import (
    GateAnswer,
    GateRequest,
    NobodyPrompter,
    Prompter,
    ScriptedPrompter,
    TerminalPrompter,
    YesPrompter,
)


def console_for(
    stream: IO[str],
    redactor: Redactor,
    environ: Mapping[str, str],
    *,
    purpose: str = "",
    no_color: bool = False,
    targets: Callable[[], Mapping[str, Target]] = dict,
) -> Console:
    """The live console on a terminal, else the plain one; ``targets`` is asked only live."""
    if not on_terminal(stream, environ):
        return Console(stream, redactor, purpose=purpose)
    from opsbooks.edges.console_live import LiveConsole

    color = wants_color(environ, no_color=no_color)
    return LiveConsole(
        stream, redactor, environ=environ, color=color, purpose=purpose, targets=targets()
    )


@dataclass(frozen=True)
class PausingPrompter:
    """A person's prompter that first pauses the live screen, so no frame garbles the
    question, the typed answer or a secret prompt's echo-less line."""

    inner: Prompter
    pause: Callable[[], AbstractContextManager[None]]

    def answer(self, request: GateRequest) -> GateAnswer | None:
        with self.pause():
            return self.inner.answer(request)


def prompters(
    answers: Mapping[str, Any],
    yes: bool,
    surroundings: Surroundings,
    who: str,
    redactor: Redactor,
    console: Console,
) -> list[Prompter]:
    """Answers file first, then ``--yes``, then a person at the terminal (or nobody)."""
    chain: list[Prompter] = [ScriptedPrompter(answers, who, source="answers")]
    if yes:
        chain.append(YesPrompter(who))
    if surroundings.is_interactive():
        shown = RedactedStream(surroundings.stdout, redactor)  # a phrase, a prompt: redacted
        person = TerminalPrompter(surroundings.stdin, cast(IO[str], shown), who)
        chain.append(PausingPrompter(person, console.paused))  # no frame over a prompt
    else:
        chain.append(NobodyPrompter())
    return chain
