"""``SubRun`` (linked runs) end to end through the real CLI, each command in a subprocess:
a child that fails, a fix, a resume of the parent that resumes the same child run id;
a child that succeeded is not run again when the parent is resumed after a later
failure; a parent killed (SIGKILL) while its child ran resumes that child, once its
orphaned command is gone; the parent's report, ``history`` and the dry run name the link."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_kit import PYTHON, clean_env, cli, lines_of, run_ids, write_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

CHILD = '''
class Migrate(ob.Runbook):
    """Migrate one database."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    class Params(ob.Params):
        db: str

    backup = ob.Command("echo backup {db} >> work.log")
    apply = ob.Command("test ! -e migrate-fails && echo migrate {db} >> work.log")
'''

PARENT = '''
from books.db.migrate import Migrate


class Release(ob.Runbook):
    """Release the app; its database migration is a linked run."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    class Params(ob.Params):
        env: str = "staging"

    announce = ob.Command("echo announce {env} >> work.log")
    migrate = ob.SubRun(Migrate, params={"db": "app_{env}"})
    deploy = ob.Command("test ! -e deploy-fails && echo deploy {env} >> work.log")
'''


def _project(root: Path) -> Path:
    return write_project(root, {"db/migrate": CHILD, "web/release": PARENT})


def _log(root: Path) -> list[str]:
    return lines_of(root / "work.log")


def test_a_failed_child_is_resumed_with_the_parent(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "migrate-fails").write_text("")
    first = cli(root, "run", "web.release")
    assert first.returncode == 1, first.stdout + first.stderr
    parent, child = run_ids(first.stdout)[:2]
    assert f"linked run {child} of db.migrate ended failed" in first.stdout
    assert "Traceback" not in first.stderr

    (root / "migrate-fails").unlink()  # the fix
    second = cli(root, "resume", parent)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"resuming linked run {child} of db.migrate" in second.stdout
    assert run_ids(second.stdout) == [parent, child]  # the same child run, resumed
    assert _log(root) == [
        "announce staging",
        "backup app_staging",
        "migrate app_staging",
        "deploy staging",
    ]

    history = cli(root, "history")
    assert history.returncode == 0, history.stderr
    rows = {line.split()[0]: line for line in history.stdout.splitlines()[1:]}
    assert rows[parent].endswith(f"succeeded (children: {child})")
    assert rows[child].endswith(f"succeeded (child of {parent})")
    report = cli(root, "report", parent)
    assert f"- `migrate` started run `{child}` of db.migrate (succeeded)" in report.stdout


def test_a_succeeded_child_is_not_run_again_on_resume(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "deploy-fails").write_text("")
    first = cli(root, "run", "web.release", "--no-rollback")
    assert first.returncode == 1, first.stdout + first.stderr
    parent = run_ids(first.stdout)[0]
    (root / "deploy-fails").unlink()
    second = cli(root, "resume", parent)
    assert second.returncode == 0, second.stdout + second.stderr
    assert run_ids(second.stdout) == [parent]  # no child run started or resumed
    assert _log(root) == [
        "announce staging",
        "backup app_staging",
        "migrate app_staging",
        "deploy staging",
    ]
    ids = cli(root, "history", "db.migrate", "--ids").stdout.split()
    assert len(ids) == 1


def test_the_dry_run_shows_the_linked_run(tmp_path: Path) -> None:
    root = _project(tmp_path)
    dry = cli(root, "run", "web.release", "--dry-run", "--env", "prod")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "starts a linked run of db.migrate with params db=app_prod" in dry.stdout
    assert _log(root) == []


SLOW_CHILD = '''
class Migrate(ob.Runbook):
    """Migrate one database, slowly."""

    scope, owner, last_reviewed = "CLI tests", "sre", "2026-11-01"

    class Params(ob.Params):
        db: str

    backup = ob.Command("echo backup {db} >> work.log")
    apply = ob.Command(
        "if [ ! -e resumed ]; then touch started; sleep 30; fi; echo migrate {db} >> work.log",
        idempotent=True,
    )
'''


def test_a_parent_killed_during_its_child_resumes_that_child(tmp_path: Path) -> None:
    root = _project(tmp_path)
    write_project(root, {"db/migrate": SLOW_CHILD})
    with subprocess.Popen(
        [PYTHON, "-m", "opsbooks", "run", "web.release"],
        cwd=root,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    ) as proc:
        deadline = time.monotonic() + 30
        while not (root / "started").exists():
            assert time.monotonic() < deadline, "the child's step never started"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the parent, its child run and its shell
        out, _ = proc.communicate()
    parent, child = run_ids(out)[:2]
    (root / "resumed").write_text("")
    refused = cli(root, "resume", parent)  # the child's own command still runs: refused
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"resuming linked run {child} of db.migrate" in refused.stdout
    found = re.search(r"its command is still running \(process group (\d+)\)", refused.stdout)
    assert found, refused.stdout
    group = int(found.group(1))
    os.killpg(group, signal.SIGKILL)  # the orphan this test started, by its own id
    deadline = time.monotonic() + 10
    while _alive(group):
        assert time.monotonic() < deadline, f"process group {group} outlived SIGKILL"
        time.sleep(0.05)
    second = cli(root, "resume", parent)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"resuming linked run {child} of db.migrate" in second.stdout
    assert run_ids(second.stdout) == [parent, child]
    assert _log(root) == [
        "announce staging",
        "backup app_staging",
        "migrate app_staging",
        "deploy staging",
    ]


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
