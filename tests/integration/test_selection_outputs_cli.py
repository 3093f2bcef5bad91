"""Through the real CLI: a tag selection that leaves out the publisher of an output a
selected step's command needs is bad input (exit 2, one paragraph, no traceback) in the
run and the dry run; a note naming a left-out output does not fail its step.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import cli, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

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
    modules = {"app/ship": BOOK}
    return write_project(root, modules, package="sel_cli_books", files={"version": "1.0\n"})


@pytest.mark.parametrize("dry", [(), ("--dry-run",)])
def test_a_left_out_publisher_is_exit_2_naming_the_steps_and_the_fix(
    tmp_path: Path, dry: tuple[str, ...]
) -> None:
    root = _project(tmp_path)
    done = cli(root, "run", "app.ship", "--only-tags", "deploy", *dry)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "Traceback" not in said
    assert "step 'deploy' needs output 'artifact', which step 'build' publishes" in said
    assert "--only-tags deploy,build" in said
    assert not (root / "ledger").exists()


def test_a_note_naming_a_left_out_output_does_not_fail_the_step(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli(root, "run", "app.ship", "--only-tags", "restart")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Restarting at {outputs.version: not available}" in done.stdout
    assert (root / "ledger").read_text() == "restart\n"
