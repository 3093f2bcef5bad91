"""``opsbooks new`` in a real temporary git repository, checked by the real tools.

As a new user would: ``opsbooks init``, ``opsbooks new ops.restart --from runbook.md``,
then the generated drill under pytest, ``opsbooks docs --check``, ``opsbooks lint``
and ruff with its defaults (``--isolated``), each a subprocess; and every bad input
exits 2 with one paragraph and changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
OPSBOOKS = str(BIN / "opsbooks")

RUNBOOK_MD = """# Restart the App Service

Restart the app service on one host when it stops answering.

## Prerequisites
- SSH access to the host

## Steps

### Step 1: Check the service
1. Look at the dashboard for errors
2. Check the load:
   ```bash
   uptime
   ```

### Step 2: Restart
1. Restart it:
   ```bash
   sudo systemctl restart app
   ```
2. Wait until the health check answers

## Verification
- [ ] The health check answers 200
- [ ] No new errors on the dashboard

## Troubleshooting
### Issue: The service does not start
**Symptoms**: `systemctl status app` shows failed
**Cause**: A bad configuration file
**Solution**: Restore the previous configuration and restart

## Related Procedures
- [Clean logs](ops.clean_logs)
- [Deploy](release.deploy)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOOKS_", "PYTEST_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["GIT_CEILING_DIRECTORIES"] = str(Path(tempfile.gettempdir()).resolve())
    return env


def run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=root, env=_env(), capture_output=True, text=True, timeout=120
    )


CACHES = ("__pycache__", ".git")


def snapshot(root: Path) -> Mapping[str, bytes]:
    """Every file a user owns under ``root``; caches are left out.

    The catalog index under the state dir is a cache keyed on the modules' stat marks:
    any command that loads the catalog may refresh it after another test changed a
    module (module-scoped project, tests spread over xdist workers), so it is not
    something ``new`` "wrote".
    """
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not any(part in CACHES for part in p.parts)
        and p.name != "catalog-index.json"
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("new") / "app"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert run(root, OPSBOOKS, "init").returncode == 0
    (root / "runbook.md").write_text(RUNBOOK_MD, encoding="utf-8")
    done = run(root, OPSBOOKS, "new", "ops.restart", "--from", "runbook.md")
    assert done.returncode == 0, done.stderr
    assert f"wrote     {root / 'runbooks/ops/restart.py'}" in done.stdout
    assert f"wrote     {root / 'tests/test_ops_restart.py'}" in done.stdout
    assert f"wrote     {root / 'docs/runbooks/ops/restart.md'} (generated page)" in done.stdout
    assert "ops.restart: 4 step(s) (3 manual, 1 command), 2 section(s)" in done.stdout
    return root


def test_the_generated_drill_passes(project: Path) -> None:
    done = run(
        project,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_ops_restart.py",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_docs_are_in_sync_and_lint_has_no_error(project: Path) -> None:
    docs = run(project, OPSBOOKS, "docs", "--check")
    assert docs.returncode == 0, docs.stdout + docs.stderr
    lint = run(project, OPSBOOKS, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "2 runbook(s) checked: 0 error(s)" in lint.stdout
    page = (project / "docs/runbooks/ops/restart.md").read_text()
    assert "sudo systemctl restart app" in page and "ops.clean_logs" in page


def test_the_module_and_drill_pass_ruff_with_its_defaults(project: Path) -> None:
    files = ["runbooks/ops/restart.py", "tests/test_ops_restart.py"]
    check = run(project, str(BIN / "ruff"), "check", "--isolated", *files)
    assert check.returncode == 0, check.stdout
    formatted = run(project, str(BIN / "ruff"), "format", "--isolated", "--check", *files)
    assert formatted.returncode == 0, formatted.stdout


def test_the_conversion_follows_the_rules(project: Path) -> None:
    source = (project / "runbooks/ops/restart.py").read_text()
    assert "# line 13: Command, a plain command from a shell block" in source
    assert "Manual (sudo), because it needs elevated rights" in source
    assert 'related = ("ops.clean_logs",)' in source
    assert "release.deploy (no such" in source  # unknown yet: kept as text, not a dead link


def test_without_from_the_template_runbook_drills_and_lints(project: Path) -> None:
    done = run(project, OPSBOOKS, "new", "ops.check_disk")
    assert done.returncode == 0, done.stderr
    assert f"wrote     {project / 'tests/test_ops_check_disk.py'}" in done.stdout
    drill = run(
        project,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_ops_check_disk.py",
    )
    assert drill.returncode == 0, drill.stdout + drill.stderr
    lint = run(project, OPSBOOKS, "lint", "ops.check_disk")
    assert lint.returncode == 0, lint.stdout
    assert run(project, OPSBOOKS, "docs", "--check").returncode == 0


def test_force_replaces_the_module(project: Path) -> None:
    (project / "other.md").write_text("# Other\n\n1. Only step\n", encoding="utf-8")
    done = run(project, OPSBOOKS, "new", "ops.replaced", "--from", "other.md")
    assert done.returncode == 0, done.stderr
    (project / "other.md").write_text("# Other\n\n1. First\n2. Second\n", encoding="utf-8")
    again = run(project, OPSBOOKS, "new", "ops.replaced", "--from", "other.md", "--force")
    assert again.returncode == 0, again.stderr
    assert "replaced  " in again.stdout and "2 step(s)" in again.stdout
    assert run(project, OPSBOOKS, "docs", "--check").returncode == 0


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["Ops.Restart"], "'Ops.Restart' is not a runbook name: write CATEGORY.NAME"),
        (["restart"], "'restart' is not a runbook name"),
        (["ops.class"], "'ops.class' is not a runbook name"),
        (["ops.restart"], "ops.restart exists already"),
        (["ops.clean_logs"], "ops.clean_logs exists already"),
        (["ops.fresh", "--from", "missing.md"], "--from missing.md: no such file"),
        (["ops.fresh", "--from", "binary.md"], "cannot be read as UTF-8 text"),
        (["ops.fresh", "--from", "empty.md"], "has no procedure to make steps of"),
        (["ops.fresh", "--package", "elsewhere"], "is not a catalog package"),
    ],
)
def test_bad_input_exits_2_with_one_paragraph_and_writes_nothing(
    project: Path, argv: list[str], says: str
) -> None:
    (project / "binary.md").write_bytes(b"\xff\xfe\x00 not text")
    (project / "empty.md").write_text("# Notes\n\nJust prose, no steps.\n- a bullet\n")
    before = snapshot(project)
    done = run(project, OPSBOOKS, "new", *argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert snapshot(project) == before


def test_outside_a_configured_project_exits_2(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    done = run(tmp_path, OPSBOOKS, "new", "ops.restart")
    assert done.returncode == 2
    assert "Run `opsbooks init`" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / ".git"]
