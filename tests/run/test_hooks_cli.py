"""Hooks and gate options end to end: the real CLI in subprocesses, real ``sh``, a pty.

A project with a runbook that defines hooks, a plugin named in its config, and one
registered as an entry point by a ``.dist-info`` folder on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pexpect
import pytest
from cli_kit import PYTHON, clean_env, cli, query, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

BOOK = '''
from __future__ import annotations

import opsbooks as ob


class Bounce(ob.Runbook):
    """Bounce the nodes; skip steps tagged by OMIT_TAG; time every step."""

    name = "ops.bounce"
    scope = "A ledger file."
    owner = "SRE"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        omit_tag: str = ""

    drain = ob.Command("echo drain >> ledger.txt", undo=ob.Command("echo undrain >> ledger.txt"))
    restart = ob.Command("echo restart >> ledger.txt", tags=("mutator",))
    warm = ob.Gate.confirm("Warm the caches?", on_decline="skip")
    warm_caches = ob.Command("echo warm >> ledger.txt", when="warm")
    check = ob.Command("echo check >> ledger.txt")

    def before_step(self, ctx: ob.StepContext, step: ob.StepView) -> ob.Skip | None:
        if self.params.omit_tag and self.params.omit_tag in step.tags:
            return ob.Skip(f"tagged {self.params.omit_tag}")
        if step.id == "check" and (ctx.workdir / "window-closed").exists():
            raise RuntimeError("the change window is closed")
        return None
'''

PLUGIN = '''
import time


class Timing:
    """Say how long each step took."""

    def around_step(self, ctx, step, proceed):
        started = time.monotonic()
        result = proceed()
        ctx.say(f"timing: {step.id} {result.status} in {time.monotonic() - started:.3f}s")
        return result
'''

COUNTER = """
class Counter:
    def after_step(self, ctx, step, result):
        with open("counted.txt", "a") as out:
            out.write(step.id + "\\n")
"""


def _project(root: Path, hooks: str = '["projhooks:Timing"]') -> Path:
    config = {"hooks": json.loads(hooks)}
    files = {"projhooks.py": textwrap.dedent(PLUGIN)}
    return write_project(
        root, {"ops/bounce": BOOK}, package="hookbooks", config=config, files=files
    )


def _rows(root: Path) -> list[tuple[str, str, str]]:
    rows = query(root, "SELECT step_id, status, reason FROM transitions ORDER BY seq")
    return [(a, b, c or "") for a, b, c in rows]


def test_hooks_time_and_skip_steps_through_the_cli_and_the_journal_says_why(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p")
    answers = root / "answers.yaml"
    answers.write_text("warm: no\n")  # a bare YAML no declines the optional part
    done = cli(root, "run", "ops.bounce", "--omit-tag", "mutator", "--answers", str(answers))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "ledger.txt").read_text() == "drain\ncheck\n"
    assert "timing: drain succeeded in" in done.stdout
    assert "timing: restart skipped in" in done.stdout
    assert ("restart", "skipped", "tagged mutator (hook ops.bounce.Bounce)") in _rows(root)
    assert any(r[:2] == ("warm_caches", "skipped") for r in _rows(root))
    dry = cli(root, "run", "ops.bounce", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Hooks around each step" in dry.stdout and "projhooks:Timing" in dry.stdout


def test_a_hook_that_raises_fails_the_run_rolls_back_and_resumes_once_fixed(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p")
    answers = root / "answers.yaml"
    answers.write_text("warm: yes\n")
    (root / "window-closed").write_text("")
    failed = cli(root, "run", "ops.bounce", "--answers", str(answers))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    said = failed.stdout + failed.stderr
    assert "hook ops.bounce.Bounce.before_step raised RuntimeError" in said
    assert "the change window is closed" in said and "Traceback" not in said
    ledger = (root / "ledger.txt").read_text()
    assert "check" not in ledger and ledger.endswith("undrain\n")  # rolled back
    (root / "window-closed").unlink()  # the hook's reason is gone
    resumed = cli(root, "resume", "last", "--answers", str(answers))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (root / "ledger.txt").read_text().endswith("check\n")


def test_a_bad_plugin_exits_2_with_one_paragraph_before_any_step(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", hooks='["projhooks:Nope"]')
    done = cli(root, "run", "ops.bounce", "--yes")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "hook 'projhooks:Nope'" in done.stderr and "has no 'Nope'" in done.stderr
    assert "Traceback" not in done.stderr and not (root / "ledger.txt").exists()


def test_an_entry_point_plugin_is_loaded_from_an_installed_distribution(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", hooks="[]")
    site = tmp_path / "site"
    dist = site / "counter_hooks-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: counter-hooks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[opsbooks.hooks]\ncounter = counter_hooks:Counter\n")
    (site / "counter_hooks.py").write_text(textwrap.dedent(COUNTER))
    done = cli(root, "run", "ops.bounce", "--yes", PYTHONPATH=str(site))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "counted.txt").read_text().split() == [
        "drain",
        "restart",
        "warm",
        "warm_caches",
        "check",
    ]


ASKS = '''
from __future__ import annotations

import opsbooks as ob


class Asks(ob.Runbook):
    """Ask a batch size (a --yes default) and a token (secret)."""

    name = "ops.asks"
    scope = "A ledger file."
    owner = "SRE"
    last_reviewed = "2026-11-01"

    batch = ob.Gate.ask("Batch size?", int, default=3, yes_default=True)
    token = ob.Gate.ask("Paste the token", secret=True)

    @ob.step(title="Use them")
    def use(self, ctx: ob.StepContext) -> None:
        token = ctx.answers["token"].get_secret_value()
        (ctx.workdir / "ledger.txt").write_text(f"{ctx.answers['batch']} {len(token)}\\n")
'''


def test_yes_answers_an_ask_with_its_default_and_a_secret_is_typed_without_echo(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p", hooks="[]")
    (root / "hookbooks" / "ops" / "asks.py").write_text(textwrap.dedent(ASKS))
    secret = "s3cr3t-typed-token"
    child = pexpect.spawn(
        PYTHON,
        ["-m", "opsbooks", "run", "ops.asks", "--yes"],
        cwd=str(root),
        env=clean_env(),
        encoding="utf-8",
        timeout=30,
    )
    child.expect_exact("Answer: ")  # batch was answered by --yes; the token is asked
    child.sendline(secret)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert secret not in (child.before or "")  # no echo, and never printed
    assert (root / "ledger.txt").read_text() == f"3 {len(secret)}\n"
    with sqlite3.connect(root / ".opsbooks" / "journal.db") as db:
        stored = db.execute("SELECT step_id, answer, source FROM gates ORDER BY seq").fetchall()
    assert stored[0][0] == "batch" and stored[0][2] == "--yes"
    assert all(secret not in str(row) for row in stored)


SECTIONED = '''
from __future__ import annotations

import opsbooks as ob


class Warm(ob.Runbook):
    """Deploy; an optional section warms the caches; then check (fails once)."""

    name = "ops.warm"
    scope = "A ledger file."
    owner = "SRE"
    last_reviewed = "2026-11-01"

    deploy = ob.Command("echo deploy >> ledger.txt")

    class caches(ob.Section):
        """Warm the caches"""

        go = ob.Gate.confirm("Warm the caches?", on_decline="skip")
        fill = ob.Command("echo fill >> ledger.txt")

    check = ob.Command("test -e ready && echo check >> ledger.txt")
'''


def test_a_declined_optional_section_is_skipped_and_stays_skipped_on_resume(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path / "p", hooks="[]")
    (root / "hookbooks" / "ops" / "warm.py").write_text(textwrap.dedent(SECTIONED))
    answers = root / "answers.yaml"
    answers.write_text("caches.go: no\n")
    first = cli(root, "run", "ops.warm", "--answers", str(answers), "--no-rollback")
    assert first.returncode == 1, first.stdout + first.stderr
    why = "optional gate caches.go was declined: the rest of section caches is skipped"
    assert why in first.stdout
    (root / "ready").write_text("")
    resumed = cli(root, "resume", "last")  # no answers, no terminal: the no is replayed
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (root / "ledger.txt").read_text() == "deploy\ncheck\n"
    assert [r for r in _rows(root) if r[0] == "caches.fill"] == [("caches.fill", "skipped", why)]
    dry = cli(root, "run", "ops.warm", "--dry-run")
    assert "optional: declining records the answer no, skips `caches.fill`, and the run" in (
        dry.stdout
    )
