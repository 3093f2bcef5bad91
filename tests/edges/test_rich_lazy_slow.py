"""rich is loaded only when output goes to a terminal (start-up time, issue 17 and 18).

Each command runs in a fresh interpreter with its output piped and reports whether
``rich`` ended up in ``sys.modules``; the same commands on a pseudo-terminal are the
control that shows the check can fail.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pexpect
import pytest
from cli_kit import PYTHON, clean_env, write_project

pytestmark = pytest.mark.slow

BOOK = """
class Hello(ob.Runbook):
    \"\"\"Say hello.\"\"\"

    name = "demo.hello"
    owner = "sre"
    scope = "Nothing outside this run."
    last_reviewed = "2026-12-02"

    hello = ob.Command("echo hello")
"""

PROBE = (
    "import sys\n"
    "from opsbooks.edges.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "print('RICH-LOADED' if 'rich' in sys.modules else 'RICH-ABSENT', code, file=sys.stderr)\n"
)

COMMANDS = [
    ["list"],
    ["--help"],
    ["run", "--help"],
    ["docs", "--check"],
    ["run", "demo.hello", "--yes"],
    ["history"],
    ["stats"],
    ["show", "demo.hello"],
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(tmp_path_factory.mktemp("lazy") / "project", {"demo": BOOK})
    for argv in (["docs"], ["run", "demo.hello"]):  # pages to check, a run for history
        subprocess.run(
            [PYTHON, "-m", "opsbooks", *argv],
            cwd=root,
            env=clean_env(),
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    return root


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_piped_command_never_imports_rich(project: Path, argv: list[str]) -> None:
    done = subprocess.run(
        [PYTHON, "-c", PROBE, *argv],
        cwd=project,
        env=clean_env(TERM="xterm-256color"),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert "RICH-ABSENT 0" in done.stderr, done.stderr + done.stdout


@pytest.mark.parametrize(
    "argv", [["history"], ["run", "demo.hello", "--yes"], ["show", "demo.hello"]], ids=" ".join
)
def test_on_a_terminal_the_same_commands_do_import_it(project: Path, argv: list[str]) -> None:
    child = pexpect.spawn(
        PYTHON,
        ["-c", PROBE, *argv],
        cwd=str(project),
        env=clean_env(TERM="xterm-256color"),
        encoding="utf-8",
        timeout=60,
        dimensions=(30, 100),
    )
    child.expect("RICH-(LOADED|ABSENT) (\\d+)")
    assert child.match.groups() == ("LOADED", "0")
    child.expect(pexpect.EOF)
    child.close()
