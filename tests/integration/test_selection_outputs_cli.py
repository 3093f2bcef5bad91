"""Through the real CLI: a tag selection that leaves out the publisher of an output a
selected step's command needs is bad input (exit 2, one paragraph, no traceback) in the
run and the dry run; a note naming a left-out output does not fail its step.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the CLI in subprocesses

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable

BOOK = '''
from __future__ import annotations

import opsbooks as ob


class Ship(ob.Runbook):
    """Build, deploy and restart the app."""

    scope, owner, last_reviewed = "The app.", "SRE", "2026-11-01"

    version = ob.Command("echo ::output version=$(cat version)", outputs=("version",))
    build = ob.Command("echo ::output artifact=app-1.tar", outputs=("artifact",), tags="build")
    deploy = ob.Command("echo deploy {outputs.artifact} >> ledger", tags="deploy")
    restart = ob.Command(
        "echo restart >> ledger", tags="restart", note="Restarting at {outputs.version}"
    )
'''


def _project(root: Path) -> Path:
    (root / "sel_cli_books" / "app").mkdir(parents=True)
    (root / "opsbooks.toml").write_text('packages = ["sel_cli_books"]\n')
    (root / "sel_cli_books" / "__init__.py").write_text("")
    (root / "sel_cli_books" / "app" / "__init__.py").write_text("")
    (root / "sel_cli_books" / "app" / "ship.py").write_text(textwrap.dedent(BOOK))
    (root / "version").write_text("1.0\n")
    return root


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOKS_")}
    env.update({"OPSBOOKS_USER": "tester", "PYTHONDONTWRITEBYTECODE": "1"})
    return subprocess.run(
        [PYTHON, "-m", "opsbooks", *args],
        cwd=root, capture_output=True, text=True, timeout=90, env=env,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("dry", [(), ("--dry-run",)])
def test_a_left_out_publisher_is_exit_2_naming_the_steps_and_the_fix(
    tmp_path: Path, dry: tuple[str, ...]
) -> None:
    root = _project(tmp_path)
    done = _cli(root, "run", "app.ship", "--only-tags", "deploy", *dry)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "Traceback" not in said
    assert "step 'deploy' needs output 'artifact', which step 'build' publishes" in said
    assert "--only-tags deploy,build" in said
    assert not (root / "ledger").exists()


def test_a_note_naming_a_left_out_output_does_not_fail_the_step(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = _cli(root, "run", "app.ship", "--only-tags", "restart")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Restarting at {outputs.version: not available}" in done.stdout
    assert (root / "ledger").read_text() == "restart\n"
