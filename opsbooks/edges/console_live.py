"""The live operator's screen on a terminal, drawn with rich; the only rich import of a run.

Imported only when the run's output is a terminal (``console.console_for``), so piped
runs, ``opsbooks list`` and ``--help`` never load rich. Finished steps scroll above as
the plain console's lines (the scrollback reads like a CI log); the running step is a
live region at the bottom: a spinner, its elapsed time, the command's last lines, a
roll-out's hosts, and bars for the run's steps and a roll-out's hosts. What the region
says is decided by :class:`~opsbooks.edges.screen.ScreenModel`; this module only draws.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import IO

from rich.console import Console as RichConsole
from rich.console import Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from opsbooks.edges.console import Console
from opsbooks.edges.screen import ScreenModel, Target, View, clock_face
from opsbooks.records.events import Event, RunFinished, StepFinished, StepStarted
from opsbooks.records.redaction import Redactor

#: held lines of one running step beyond which they scroll up before it ends
_HOLD_AT_MOST = 200


def rich_console(stream: IO[str], environ: Mapping[str, str], *, color: bool) -> RichConsole:
    """A rich console on ``stream``; without colour it emits no style codes at all."""
    return RichConsole(
        file=stream,
        force_terminal=True,
        color_system="auto" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
        _environ=dict(environ),
    )


class _Sink:
    """The plain console's stream: whole lines, held while a step runs, else printed above."""

    def __init__(self, print_line: Callable[[str], None]) -> None:
        self._print = print_line
        self._partial = ""
        self._held: list[str] = []
        self.holding = False

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if self.holding:
                self._held.append(line)
            else:
                self._print(line)
        if len(self._held) > _HOLD_AT_MOST:
            self.release()
        return len(text)

    def release(self) -> None:
        """Print what was held (and a half line, ended), above the live region."""
        held, self._held = self._held, []
        if self._partial:
            held.append(self._partial)
            self._partial = ""
        for line in held:
            self._print(line)

    def flush(self) -> None:
        """Lines are printed whole; there is nothing to flush."""


class LiveConsole(Console):
    """The plain console's lines, plus a live region drawn while a step runs."""

    def __init__(
        self,
        stream: IO[str],
        redactor: Redactor,
        *,
        environ: Mapping[str, str],
        color: bool = True,
        purpose: str = "",
        targets: Mapping[str, Target] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rich = rich_console(stream, environ, color=color)
        self._sink = _Sink(self._print_line)
        super().__init__(self._sink, redactor, purpose=purpose)  # type: ignore[arg-type]
        self._model = ScreenModel(targets)
        self._model_lock = threading.Lock()
        self._clock = clock
        utf8 = "utf" in (getattr(stream, "encoding", "") or "").lower()
        self._spinner = Spinner("dots" if utf8 else "line", style="cyan")
        self._live: Live | None = None
        self._paused = False
        self._closed = False

    def _print_line(self, line: str) -> None:
        self.rich.print(Text(line), soft_wrap=True, highlight=False)

    def __call__(self, event: Event) -> None:
        header = isinstance(event, StepStarted) and event.index > 0
        with self._model_lock:
            if isinstance(event, StepStarted) and header:
                label = f"[{event.index}/{event.total}] {event.step}: {event.title} ({event.kind})"
                command = self._redactor.text(event.command) if event.command else None
                self._model.feed(
                    event, self._clock(), label=self._redactor.text(label), command=command
                )
            else:
                self._model.feed(event, self._clock())
        if header:
            self._start()
            self._sink.holding = not self._paused
        super().__call__(event)
        if isinstance(event, StepFinished | RunFinished):
            with self._lock:
                self._sink.holding = False
                self._sink.release()
        if isinstance(event, RunFinished):
            self.close()

    def _show(self, cleaned: str) -> None:
        super()._show(cleaned)
        if cleaned:
            with self._model_lock:
                self._model.output(cleaned)

    @contextmanager
    def heartbeat(self, label: str, every: float = 30.0) -> Iterator[None]:
        """No "still running" lines: the live region shows the elapsed time."""
        with nullcontext():
            yield

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop drawing while a person is asked: the step so far scrolls up, the prompt
        is written plainly below it, and a new live region starts after the answer (a
        restarted one would move up over the lines of the prompt by its old height)."""
        with self._lock:
            self._sink.holding = False
            self._sink.release()
        self._paused = True
        self._stop()
        try:
            yield
        finally:
            self._paused = False
            if self.view() is not None and not self._closed:
                self._start()
                self._sink.holding = True

    def close(self) -> None:
        """Stop the live region for good (the run ended, or its session unwinds)."""
        self._closed = True
        self._stop()
        with self._lock:
            self._sink.holding = False
            self._sink.release()

    def view(self) -> View | None:
        with self._model_lock:
            return self._model.view(self._clock())

    def _start(self) -> None:
        if self._live is None and not self._paused:
            self._live = Live(
                get_renderable=self._render,
                console=self.rich,
                transient=True,
                refresh_per_second=8,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()

    def _stop(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()

    def _render(self) -> RenderableType:
        view = self.view()
        return Text("") if view is None else draw(view, self._spinner)


def draw(view: View, spinner: Spinner) -> RenderableType:
    """The live region for one frame: spinner line, command, output tail, bars."""
    spinner.update(
        text=Text.assemble((view.step, "bold"), "  ", (clock_face(view.elapsed), "cyan"))
    )
    parts: list[RenderableType] = [spinner]
    if view.command:
        parts.append(Text(f"    $ {view.command}", style="dim", no_wrap=True, overflow="ellipsis"))
    parts += [
        Text(f"    | {line}", style="dim", no_wrap=True, overflow="ellipsis") for line in view.tail
    ]
    bars = Table.grid(padding=(0, 1))
    if view.hosts_total:
        done = view.hosts_ok + view.hosts_failed
        style = "red" if view.hosts_failed else "green"
        bars.add_row(
            ProgressBar(total=view.hosts_total, completed=done, width=30, complete_style=style),
            Text(view.hosts_line, style=style),
        )
    if view.steps_total:
        bars.add_row(
            ProgressBar(total=view.steps_total, completed=view.steps_done, width=30),
            Text(f"{view.steps_done}/{view.steps_total} steps done"),
        )
    parts.append(bars)
    return Group(*parts)
