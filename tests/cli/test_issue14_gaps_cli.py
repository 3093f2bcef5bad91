"""Issue 14's last gaps end to end through the real CLI, each command in a subprocess:
a bare ``{answers.ID}`` in a section, an included runbook's hooks and prepare hook,
and the import error of a resumed run's module said once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_kit import cli, lines_of, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

TICKETED = '''
class Ticketed(ob.Runbook):
    """Record the change ticket of each part."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    ticket = ob.Gate.ask("Ticket for the whole change?")

    class drain(ob.Section):
        """Drain"""

        ticket = ob.Gate.ask("Ticket for the drain?")
        record = ob.Command(
            "echo drain {answers.ticket} >> work.log", note="drain ticket {answers.ticket}"
        )

    finish = ob.Command("echo finish {answers.ticket} >> work.log")
'''


def test_a_bare_answer_in_a_section_is_its_own_sections_gate(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {"ops/ticketed": TICKETED},
        files={"answers.yml": "ticket: CHG-1\ndrain.ticket: DR-2\n"},
    )
    done = cli(root, "run", "ops.ticketed", "--answers", "answers.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert lines_of(root / "work.log") == ["drain DR-2", "finish CHG-1"]
    assert "drain ticket DR-2" in done.stdout
    page = cli(root, "show", "ops.ticketed").stdout
    assert "echo drain {answers.drain.ticket} >> work.log" in page  # the full id, shown


CHILD = '''
from pathlib import Path


class RestartApp(ob.Runbook):
    """Restart the app; its hook logs each step it sees."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    class Params(ob.Params):
        host: str

    stop = ob.Command("echo stop {host} >> work.log")
    start = ob.Command("echo start {host} >> work.log")

    def before_step(self, ctx, step):
        with open("work.log", "a") as log:
            log.write(f"hook {step.id} {self.params.host}\\n")

    @classmethod
    def prepare_project(cls, project):
        project.say(f"preparing {cls.name} ({project.mode})")
        return None
'''

PARENT = '''
from books.web.restart_app import RestartApp


class Maintain(ob.Runbook):
    """Announce, then restart the app."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    announce = ob.Command("echo announce >> work.log")
    restart = ob.Include(RestartApp, params={"host": "web1"})
'''


def test_an_included_runbook_keeps_its_hooks_and_its_prepare_hook(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"web/restart_app": CHILD, "web/maintain": PARENT})
    dry = cli(root, "run", "web.maintain", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "preparing web.restart_app (dry-run)" in dry.stdout
    assert "web.restart_app.RestartApp (before_step, section restart only)" in dry.stdout
    done = cli(root, "run", "web.maintain")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("preparing web.restart_app (run)") == 1
    assert lines_of(root / "work.log") == [
        "announce",
        "hook restart.stop web1",
        "stop web1",
        "hook restart.start web1",
        "start web1",
    ]


GATED = '''
class Gated(ob.Runbook):
    """Stops at its gate, so there is a run to resume."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    approve = ob.Gate.confirm("Go on?")
'''


def test_resuming_a_run_whose_module_fails_to_import_says_the_error_once(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"ops/gated": GATED})
    stopped = cli(root, "run", "ops.gated")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    [run_id] = re.findall(r"opsbooks resume (\S+)", stopped.stdout)
    module = root / "books" / "ops" / "gated.py"
    module.write_text(module.read_text() + '    later = ob.Command("x", when="nope")\n')
    resumed = cli(root, "resume", run_id)
    assert resumed.returncode == 2
    assert resumed.stderr.count("failed to import") == 1, resumed.stderr
    assert resumed.stderr.startswith("opsbooks: runbook 'ops.gated' cannot be loaded")
    assert "Traceback" not in resumed.stderr
