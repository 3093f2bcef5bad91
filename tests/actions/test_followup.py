"""The rollback's follow-up ticket draft, written as an operator's command would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # python -m subprocesses


def write(folder: Path, *args: str, run_id: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSBOOKS_RUNBOOK": "release.rollback"}
    env.pop("OPSBOOKS_RUN_ID", None)
    if run_id:
        env["OPSBOOKS_RUN_ID"] = run_id
    return subprocess.run(
        [sys.executable, "-m", "opsbooks_playbooks.actions.followup", "write", "--dir", str(folder),
         *args],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


def test_the_draft_names_the_run_and_is_written_once(tmp_path: Path) -> None:
    args = ("--bad", "1.1.0", "--target", "1.0.0", "--date", "2026-11-29")
    done = write(tmp_path, *args, run_id="20261129-060000-abcdef")
    assert done.returncode == 0, done.stderr
    (draft,) = tmp_path.iterdir()
    assert draft.name == "2026-11-29-fix-1.1.0-20261129-060000-abcdef.md"
    text = draft.read_text()
    assert text.startswith("# Fix for 1.1.0 (rolled back to 1.0.0)")
    assert "by run `20261129-060000-abcdef` of `release.rollback`" in text
    assert "`opsbooks report 20261129-060000-abcdef`" in text
    draft.write_text(text + "\nOwner: alice\n")  # a person edits it
    again = write(tmp_path, *args, run_id="20261129-060000-abcdef")
    assert again.returncode == 0 and "already drafted" in again.stdout
    assert draft.read_text().endswith("Owner: alice\n")


def test_a_version_that_is_not_semver_is_refused(tmp_path: Path) -> None:
    done = write(tmp_path, "--bad", "latest", "--target", "1.0.0")
    assert done.returncode == 2 and "not a semantic version" in done.stderr
    assert list(tmp_path.iterdir()) == []
