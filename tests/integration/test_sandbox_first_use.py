"""With no configuration anywhere, a release runbook makes and uses a local sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the CLI and invoke in subprocesses


def test_release_runbook_without_configuration_uses_a_fresh_sandbox(tmp_path: Path) -> None:
    run = dry_run(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    sandbox = tmp_path / ".opsbooks" / "sandbox"
    assert "creating a local release sandbox" in run.stdout
    assert f"repo = '{sandbox / 'app'}'" in run.stdout
    assert (sandbox / "origin.git").is_dir() and (sandbox / "feed" / "feed.json").is_file()
    again = dry_run(tmp_path)
    assert "creating" not in again.stdout and "Using the sandbox configuration" in again.stdout


def dry_run(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbooks", "run", "release.deploy", "--version", "1.0.1",
         "--dry-run"],
        cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_a_project_asking_for_a_release_sandbox_gets_one(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.opsbooks]\npackages = ["opsbooks_playbooks"]\n\n[tool.opsbooks.settings.release]\n'
        'sandbox = "sb"\n'
    )
    run = dry_run(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    said = (
        f"pyproject.toml sets sandbox = 'sb' for releases; creating a local release sandbox "
        f"in {tmp_path}"
    )
    assert said in run.stdout
    assert f"repo = '{tmp_path / 'sb' / 'app'}'" in run.stdout


def test_a_configured_project_without_release_params_is_told_not_sandboxed(
    tmp_path: Path,
) -> None:
    (tmp_path / "opsbooks.toml").write_text('packages = ["opsbooks_playbooks"]\n')
    run = dry_run(tmp_path)
    assert run.returncode == 2
    assert "--repo: is required" in run.stderr
    assert not (tmp_path / ".opsbooks" / "sandbox").exists()


def test_invoke_with_a_malformed_configuration_says_so_without_a_traceback(
    tmp_path: Path,
) -> None:
    (tmp_path / "opsbooks.toml").write_text('packages = ["opsbooks_playbooks"\n')
    tasks = "from opsbooks.tasks import collection\n\nns = collection()\n"
    (tmp_path / "tasks.py").write_text(tasks)
    invoke = Path(sys.executable).parent / "invoke"
    run = subprocess.run(
        [str(invoke), "--list"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert run.returncode == 2
    assert "opsbooks.toml is not valid TOML" in run.stderr
    assert "Traceback" not in run.stderr
