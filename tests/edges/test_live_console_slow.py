"""The operator's screen for real: ``opsbooks run`` in a pseudo-terminal, in tmux, in a pipe.

A small runbook with a slow step (``sleep``), a gate, and a last step. On a terminal the
live region shows a spinner, the elapsed time and the command's last lines, and stops
while the gate asks; in a pipe the run prints today's plain lines with no escape code;
``NO_COLOR=1`` and ``--no-color`` keep the live region but drop every colour code. A
screenshot of the live screen, taken from tmux mid-run, lands in build/screenshots/.
"""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from cli_kit import PYTHON, clean_env, write_project

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "build" / "screenshots"

BOOK = """
class Deploy(ob.Runbook):
    \"\"\"Build the demo service, ask before shipping it, then ship it.\"\"\"

    name = "demo.deploy"
    owner = "sre"
    scope = "Nothing outside this run."
    last_reviewed = "2026-12-02"

    build = ob.Command(
        "for i in 1 2 3 4 5 6 7 8; do echo building part $i of 8; sleep 0.4; done; sleep 1"
    )
    go = ob.Gate("Ship the build?")
    ship = ob.Command("echo shipping; sleep 1; echo shipped")
"""

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
#: an SGR sequence; its parameters say whether it sets a colour
SGR = re.compile(r"\x1b\[([0-9;]*)m")
ANY_ESCAPE = re.compile(r"\x1b")
CODES = r"(?:\x1b\[[0-9;]*m)*"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project", {"demo": BOOK})


def colour_codes(raw: str) -> list[str]:
    """The SGR sequences of ``raw`` that set a foreground or background colour."""
    found = []
    for match in SGR.finditer(raw):
        params = [int(p) for p in match.group(1).split(";") if p]
        if any((30 <= p <= 49 and p not in (39, 49)) or 90 <= p <= 107 for p in params):
            found.append(match.group(0))
    return found


def _spawn(project: Path, *args: str, **env: str) -> pexpect.spawn:
    return pexpect.spawn(
        PYTHON,
        ["-m", "opsbooks", "run", "demo.deploy", *args],
        cwd=str(project),
        env=clean_env("alice", TERM="xterm-256color", **env),
        encoding="utf-8",
        timeout=40,
        dimensions=(30, 100),
    )


def _finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None, child.signalstatus
    return int(child.exitstatus)


def test_the_live_screen_shows_the_running_step_and_stops_for_the_gate(project: Path) -> None:
    child = _spawn(project)
    child.expect(rf"[{SPINNER}]{CODES} {CODES}\[1/3\] build: Build \(command\)")  # spinner line
    child.expect(r"\d\.\ds")  # its elapsed time
    child.expect(r"\| building part [3-8] of 8")  # the command's last lines, live
    child.expect("steps done")
    child.expect(r"== Go \(confirm\) ==")
    asked = child.before + child.after
    child.expect(r"Approve\? \[y/n\]: ")
    prompt = child.before
    # while the gate asks, nothing is drawn: no cursor move or erase inside the question
    assert "Ship the build?" in prompt and not ANY_ESCAPE.search(prompt), repr(prompt)
    # the build step scrolled up as its plain lines before the question
    assert "    | building part 8 of 8" in asked and "    -> ok in" in asked
    child.sendline("y")
    child.expect("answered yes by alice via terminal")
    child.expect(r"\[3/3\] ship: Ship \(command\)")
    child.expect("Run succeeded")
    assert _finish(child) == 0


def test_in_a_pipe_the_run_prints_the_plain_lines_and_no_escape_code(project: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "opsbooks", "run", "demo.deploy", "--yes"],
        cwd=project,
        env=clean_env("alice", TERM="xterm-256color"),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not ANY_ESCAPE.search(done.stdout), repr(done.stdout)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Running demo.deploy as run ") and lines[0].endswith("(by alice)")
    assert lines[2:5] == [
        "[1/3] build: Build (command)",
        "    $ for i in 1 2 3 4 5 6 7 8; do echo building part $i of 8; sleep 0.4; done; sleep 1",
        "    | building part 1 of 8",
    ]
    assert "    | building part 8 of 8" in lines
    assert "    asked: Ship the build?" in lines
    assert "[3/3] ship: Ship (command)" in lines
    assert any(re.fullmatch(r"Run succeeded in [\d.]+s", line) for line in lines), lines


@pytest.mark.parametrize(("flag", "env"), [((), {"NO_COLOR": "1"}), (("--no-color",), {})])
def test_no_color_keeps_the_live_screen_without_a_colour_code(
    project: Path, flag: tuple[str, ...], env: dict[str, str]
) -> None:
    child = _spawn(project, "--yes", *flag, **env)
    child.expect(rf"[{SPINNER}] \[1/3\] build: Build \(command\)")  # live, undecorated
    child.expect(r"\| building part [2-8] of 8")
    child.expect("Run succeeded")
    seen = child.before + child.after
    assert _finish(child) == 0
    assert colour_codes(seen) == []
    assert "\x1b[" in seen  # still drawn live: the region is redrawn with cursor moves


def test_with_colour_the_live_screen_uses_colour_codes(project: Path) -> None:
    """The control for the test above: the same run, colour on, does emit them."""
    child = _spawn(project, "--yes")
    child.expect(r"\| building part [2-8] of 8")
    child.expect("Run succeeded")
    seen = child.before + child.after
    assert _finish(child) == 0
    assert colour_codes(seen), "no colour at all: the colour check above proves nothing"


def _pane(server: str, *, escapes: bool = True) -> str:
    args = ["tmux", "-L", server, "capture-pane", "-p", *(["-e"] if escapes else [])]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def live_screen(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(the screen as text, the same with its escape codes) from tmux, mid-build."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the live screen cannot be captured")
    root = write_project(tmp_path_factory.mktemp("shot") / "project", {"demo": BOOK})
    server = f"opsbooks-shot-{root.parent.name}"
    shell = clean_env("alice").items()
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in shell if k.isidentifier())
    command = f"cd {root} && env {env} TERM=xterm-256color {PYTHON} -m opsbooks run demo.deploy"
    session = ["new-session", "-d", "-x", "100", "-y", "30", command + "; sleep 60"]
    subprocess.run(["tmux", "-L", server, *session], check=True)
    try:
        deadline = time.monotonic() + 40
        screen = ""
        while time.monotonic() < deadline:
            screen = _pane(server, escapes=False)
            if re.search(r"\| building part [4-7] of 8", screen) and "steps done" in screen:
                return screen, _pane(server)
            time.sleep(0.1)
        pytest.fail(f"the live screen never showed the build's output:\n{screen}")
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], check=False)


def test_a_screenshot_of_the_live_screen_mid_run_as_svg(live_screen: tuple[str, str]) -> None:
    screen, captured = live_screen
    assert any(mark in screen for mark in SPINNER) and "[1/3] build" in screen
    assert re.search(r"\[1/3\] build: Build \(command\)\s+\d\.\ds", screen), screen
    svg = _to_svg(captured)
    shown = svg.replace("&#160;", " ")  # rich writes a space in the SVG as &#160;
    assert "building part" in shown and "steps done" in shown


def test_a_screenshot_of_the_live_screen_mid_run_as_png(
    live_screen: tuple[str, str], tmp_path: Path
) -> None:
    png = _to_png(_to_svg(live_screen[1]), tmp_path)
    assert png.stat().st_size > 5_000


def _to_svg(captured: str) -> str:
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=100, force_terminal=True, file=io.StringIO())
    console.print(Text.from_ansi(captured.rstrip("\n")), soft_wrap=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    target = SHOTS / "console-live.svg"
    console.save_svg(str(target), title="opsbooks run demo.deploy")
    return target.read_text(encoding="utf-8")


def _to_png(svg: str, tmp_path: Path) -> Path:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip(
            "build/screenshots/console-live.svg written; the PNG needs Debian's chromium "
            "(apt-get install chromium, as scripts/system-deps.sh does), not installed here"
        )
    import base64

    sys.path.insert(0, str(REPO / "tests" / "site"))
    from site_kit import Chromium

    browser = Chromium(binary, tmp_path / "chromium-profile", width=1000, height=640)
    try:
        browser.call("Page.enable")
        browser.call("Page.navigate", {"url": (SHOTS / "console-live.svg").as_uri()})
        browser.wait_for_event("Page.loadEventFired")
        shot = browser.call("Page.captureScreenshot", {"format": "png"})["data"]
    finally:
        browser.close()
    target = SHOTS / "console-live.png"
    target.write_bytes(base64.b64decode(shot))
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return target
