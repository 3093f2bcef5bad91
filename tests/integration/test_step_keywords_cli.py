"""The shared step keywords through the real CLI: failure policies and resume, setup and
re-run steps, quiet output, tags, and the ``succeeded_with_warnings`` outcome in the
journal, ``history`` and ``report``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_kit import cli, last_run, query, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

BOOK = '''
from __future__ import annotations

import opsbooks as ob


class Upkeep(ob.Runbook):
    """Keep the app in shape; every step uses a shared keyword."""

    scope, owner, last_reviewed = "The app.", "SRE", "2026-11-01"

    login = ob.Command("echo login >> ledger", setup=True)
    probe = ob.Command(
        "echo ::output version=$(cat version)", rerun_on_resume=True, outputs=("version",)
    )
    warm = ob.Command("echo warm >> ledger; test -f warm.ok", on_failure="continue")
    chatter = ob.Command("echo CHATTER-$((40 + 2))", quiet=True)
    deploy = ob.Command(
        "echo deploy >> ledger", tags="deploy", undo=ob.Command("echo undeploy >> ledger")
    )
    migrate = ob.Command(
        "test -f migrate.ok && echo migrate {outputs.version} >> ledger", on_failure="stop"
    )
'''


def _project(root: Path) -> Path:
    modules = {"app/upkeep": BOOK}
    return write_project(root, modules, package="kw_cli_books", files={"version": "1.0\n"})


def _ledger(root: Path) -> list[str]:
    return (root / "ledger").read_text().splitlines()


def test_continue_and_stop_then_resume_ends_succeeded_with_warnings(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = cli(root, "run", "app.upkeep")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "warm failed and declares on_failure='continue'" in first.stdout
    assert "migrate failed and declares on_failure='stop': no rollback" in first.stdout
    assert _ledger(root) == ["login", "warm", "deploy"]  # no undeploy: stop keeps it in place
    assert "CHATTER-42" not in first.stdout  # quiet: off the console...
    run_id = last_run(root)
    tails = query(
        root, "SELECT output_tail FROM transitions WHERE run_id=? AND step_id='chatter'", run_id
    )
    assert any("CHATTER-42" in str(tail) for (tail,) in tails)  # ...but journaled

    (root / "version").write_text("2.0\n")
    (root / "migrate.ok").touch()
    resumed = cli(root, "resume", run_id)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    # setup runs again, the probe is fresh (2.0), the continued failure stays failed
    assert _ledger(root) == ["login", "warm", "deploy", "login", "migrate 2.0"]
    assert "Run succeeded_with_warnings" in resumed.stdout
    ((outcome, reason),) = query(root, "SELECT outcome, reason FROM runs WHERE id=?", run_id)
    assert outcome == "succeeded_with_warnings" and "warm failed (exit code 1" in str(reason)

    history = cli(root, "history")
    assert history.returncode == 0 and "succeeded_with_warnings" in history.stdout
    report = cli(root, "report", run_id)
    assert report.returncode == 0, report.stderr
    assert "- Outcome: **succeeded_with_warnings**" in report.stdout
    assert "To resume" not in report.stdout
    again = cli(root, "resume", run_id)
    assert again.returncode == 2 and "succeeded with warnings" in again.stderr
    assert "Traceback" not in again.stderr


def test_only_tags_runs_the_tagged_step_and_the_setup_step(tmp_path: Path) -> None:
    root = _project(tmp_path)
    done = cli(root, "run", "app.upkeep", "--only-tags", "deploy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ledger(root) == ["login", "deploy"]
    reasons = dict(query(root, "SELECT step_id, reason FROM transitions WHERE status='skipped'"))
    assert reasons["warm"] == "not tagged deploy (--only-tags)"
    ((options,),) = query(root, "SELECT options FROM runs")
    assert '"only_tags": ["deploy"]' in str(options)


def test_a_bad_keyword_is_a_one_paragraph_error_at_import(tmp_path: Path) -> None:
    root = _project(tmp_path)
    book = root / "kw_cli_books" / "app" / "upkeep.py"
    book.write_text(book.read_text().replace('on_failure="stop"', 'on_failure="ignore"'))
    done = cli(root, "run", "app.upkeep")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "step 'migrate': on_failure='ignore' is not one of" in done.stderr
    assert "Traceback" not in done.stderr
