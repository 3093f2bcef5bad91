"""The terminal faces of the console, ``history``/``stats`` tables and ``show``.

Fast: streams are StringIO objects (one claims to be a terminal); rich draws into them.
"""

from __future__ import annotations

import io
import re
import time

from opsbooks.edges.cli.pages import flow_as_list, for_terminal, write_page
from opsbooks.edges.cli.tables import plain_table, show_table
from opsbooks.edges.console_live import LiveConsole
from opsbooks.records.events import GateAnswered, RunFinished, RunStarted, StepFinished, StepStarted
from opsbooks.records.redaction import Redactor

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")

FLOW = """# Restore

Words.

```mermaid
flowchart TD
    start(["Start"])
    step_pick["1. Pick the backup"]
    step_go{"2. Approve #quot;it#quot;"}
    step_undo["undo: Put it back"]
    done(["Done"])
    start --> step_pick
    step_pick --> step_go
    step_go -->|"no"| done
    step_pick -.->|"undo"| step_undo
```

After.
"""


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_mermaid_flow_becomes_a_list_of_its_steps_and_branches() -> None:
    listed = flow_as_list(FLOW.split("```mermaid\n")[1].split("```")[0])
    assert listed.splitlines()[2:5] == [
        "- 1\\. Pick the backup",
        '- 2\\. Approve "it"',
        "- undo: Put it back",
    ]
    assert '- 2. Approve "it" *(no)* -> Done' in listed
    assert "- 1. Pick the backup *(undo)* -> undo: Put it back" in listed
    page = for_terminal(FLOW)
    assert "```" not in page and page.startswith("# Restore") and page.endswith("After.\n")


def test_show_writes_the_raw_markdown_in_a_pipe_and_draws_it_on_a_terminal() -> None:
    piped = io.StringIO()
    write_page(piped, {}, FLOW)
    assert piped.getvalue() == FLOW
    tty = Tty()
    write_page(tty, {"TERM": "xterm-256color", "NO_COLOR": "1"}, FLOW)
    drawn = ESCAPE.sub("", tty.getvalue())
    assert "```" not in drawn and "flowchart" not in drawn
    assert "Pick the backup" in drawn and "Flow" in drawn


def test_a_table_is_as_wide_as_its_content_in_a_pipe() -> None:
    rows = [("a-long-id", "x", "3"), ("b", "yy", "12")]
    assert plain_table(("ID", "NAME", "N"), rows, right={2}) == [
        "ID         NAME   N",
        "a-long-id  x      3",
        "b          yy    12",
    ]
    piped = io.StringIO()
    show_table(piped, {}, ("ID", "NAME", "N"), rows, right={2})
    assert piped.getvalue().splitlines() == plain_table(("ID", "NAME", "N"), rows, right={2})


def test_on_a_terminal_the_table_is_drawn_by_rich_and_honours_no_color() -> None:
    tty = Tty()
    show_table(tty, {"TERM": "xterm", "NO_COLOR": "1"}, ("ID", "N"), [("abc", "1")])
    assert "─" in tty.getvalue()  # rich's header rule
    assert not COLOUR.search(tty.getvalue())


def _events(console: LiveConsole) -> None:
    console(RunStarted("demo.deploy", "r1", "alice", {}, "f" * 12, False, 2))
    console(StepStarted("build", "command", "Build", 1, 2, "make"))
    console.write("part 1\npart 2\n")
    time.sleep(0.3)  # a few frames of the live region
    frame = console.view()
    assert frame is not None and frame.tail == ("part 1", "part 2")
    console(StepFinished("build", "succeeded", 1.0))
    console(StepStarted("go", "gate", "Go", 2, 2, None))
    with console.paused():
        assert console.view() is not None  # still running, just not drawn
    console(GateAnswered("go", "confirm", True, "alice", "terminal", 1.0))
    console(StepFinished("go", "succeeded", 1.0))
    console(RunFinished("succeeded", 2.0))


def test_the_live_console_scrolls_finished_steps_up_as_the_plain_lines() -> None:
    tty = Tty()
    console = LiveConsole(tty, Redactor(), environ={"TERM": "xterm"}, color=False)
    _events(console)
    raw = tty.getvalue()
    assert not COLOUR.search(raw)
    lines = [line.rstrip() for line in ESCAPE.sub("", raw).replace("\r", "\n").splitlines()]
    plain = [line for line in lines if line and not line.startswith(("⠋", "⠙", "⠹", "-", "|"))]
    wanted = [
        "Running demo.deploy as run r1 (by alice)",
        "[1/2] build: Build (command)",
        "    $ make",
        "    | part 1",
        "    | part 2",
        "    -> ok in 1s",
        "[2/2] go: Go (gate)",
        "    answered yes by alice via terminal",
        "    -> ok in 1s",
        "Run succeeded in 2s",
    ]
    rest = iter(plain)  # in this order, with frames of the live region in between
    assert all(any(line == want for line in rest) for want in wanted), plain
    assert plain.count("Run succeeded in 2s") == 1  # printed once, above, not in a frame
    assert console.view() is None


def test_secrets_never_reach_the_live_region() -> None:
    tty = Tty()
    console = LiveConsole(tty, Redactor(["hunter2"]), environ={}, color=False)
    console(StepStarted("login", "command", "Log in", 1, 1, "login --password hunter2"))
    console.write("token hunter2 accepted\n")
    frame = console.view()
    console.close()
    assert frame is not None and "hunter2" not in f"{frame.command} {frame.tail}"
    assert "hunter2" not in tty.getvalue()
