"""With no configuration anywhere, a release runbook makes and uses a local sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_release_runbook_without_configuration_uses_a_fresh_sandbox(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "opsbooks.cli", "run", "release.deploy", "--version", "1.0.1",
         "--dry-run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sandbox = tmp_path / ".opsbooks" / "sandbox"
    assert "creating a local release sandbox" in run.stdout
    assert f"repo = '{sandbox / 'app'}'" in run.stdout
    assert (sandbox / "origin.git").is_dir() and (sandbox / "feed" / "feed.json").is_file()
    again = subprocess.run(
        [sys.executable, "-m", "opsbooks.cli", "run", "release.deploy", "--version", "1.0.1",
         "--dry-run"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert "creating" not in again.stdout and "Using the sandbox configuration" in again.stdout
