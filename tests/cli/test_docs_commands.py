"""``opsbooks list``, ``show`` and ``docs`` against a real project directory.

Each test builds a small project (pyproject with ``[tool.opsbooks]`` and a runbook
package) and runs the real program: in-process through ``main`` and as a subprocess.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbooks.edges.cli.main import main
from opsbooks.render import GENERATED_MARKER

REPO = Path(__file__).resolve().parents[2]

RESTART = '''\
"""A small runbook the tests edit to make the docs drift."""

from __future__ import annotations

import opsbooks as ob


class Restart(ob.Runbook):
    """Restart the app after a config change."""

    scope = "The app service on one host."
    owner = "Ops"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        service: str = ob.Field("app", description="systemd unit to restart")

    restart = ob.Command(["systemctl", "restart", "{service}"])
    healthy = ob.Verify("systemctl is-active {service}")
'''


def make_project(root: Path, package: str) -> Path:
    """Lay out a project with the security playbook and a small ``ops.restart`` runbook."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\nversion = "0"\n\n'
        f'[tool.opsbooks]\npackages = ["{package}"]\ndocs_dir = "docs/runbooks"\n\n'
        f'[tool.opsbooks.contacts]\nL1 = "Ops on-call"\n'
    )
    pkg = root / package
    (pkg / "security").mkdir(parents=True)
    (pkg / "ops").mkdir()
    for init in [pkg, pkg / "security", pkg / "ops"]:
        (init / "__init__.py").write_text("")
    shutil.copy(
        REPO / "opsbooks_playbooks/security/incident_response.py",
        pkg / "security/incident_response.py",
    )
    (pkg / "ops/restart.py").write_text(RESTART)
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project whose package name is unique, so in-process imports never collide."""
    package = f"books_{uuid.uuid4().hex[:8]}"
    root = make_project(tmp_path / "project", package)
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield root
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m opsbooks`` in ``root`` as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "opsbooks", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_list_shows_runbooks_in_aligned_columns(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "CATEGORY", "TITLE", "STEPS"]
    assert lines[1].split()[:2] == ["ops.restart", "ops"]
    assert lines[1].endswith(" 2")
    assert lines[2].startswith("security.incident_response  security  Security Incident Response")
    assert lines[1].index("ops ") == lines[0].index("CATEGORY")


def test_show_prints_the_rendered_page(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "ops.restart"]) == 0
    page = capsys.readouterr().out
    assert page.startswith(GENERATED_MARKER)
    assert "# Restart" in page and "| L1 | First response | Ops on-call |" in page


def test_show_unknown_exits_2_and_suggests(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["show", "ops.restrat"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no runbook named 'ops.restrat'. Did you mean: ops.restart?" in captured.err
    assert "Traceback" not in captured.err


def test_bad_usage_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show"]) == 2
    assert "the following arguments are required: name" in capsys.readouterr().err


def test_invalid_config_exits_2_without_traceback(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text('[tool.opsbooks]\npackagez = ["x"]\n')
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("opsbooks: configuration in ") and "packagez" in err
    assert "Traceback" not in err


def test_docs_dir_option_and_check(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--check", "--dir", "site-docs"]) == 1
    out = capsys.readouterr().out
    assert "missing" in out and "(ops.restart)" in out
    assert not (project / "site-docs").exists()
    assert main(["docs", "--dir", "site-docs"]) == 0
    assert (project / "site-docs/ops/restart.md").is_file()
    assert (project / "site-docs/index.md").is_file()
    assert main(["docs", "--check", "--dir", "site-docs"]) == 0


@pytest.mark.slow
def test_drift_cycle_through_the_real_program(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", "opsbooks_playbooks")
    docs = root / "docs/runbooks"

    first = cli(root, "docs", "--check")
    assert first.returncode == 1, first.stderr
    assert "missing" in first.stdout and "(security.incident_response)" in first.stdout
    assert not docs.exists()

    wrote = cli(root, "docs")
    assert wrote.returncode == 0, wrote.stderr
    assert (docs / "security/incident_response.md").is_file()
    assert (docs / "ops/restart.md").is_file()
    assert cli(root, "docs", "--check").returncode == 0

    restart = root / "opsbooks_playbooks/ops/restart.py"
    restart.write_text(restart.read_text().replace('"app"', '"web"'))
    drift = cli(root, "docs", "--check")
    assert drift.returncode == 1
    assert "stale" in drift.stdout and "(ops.restart)" in drift.stdout
    assert "incident_response" not in drift.stdout
    assert cli(root, "docs").returncode == 0
    assert cli(root, "docs", "--check").returncode == 0


@pytest.mark.slow
def test_orphans_reported_and_hand_written_pages_kept(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", "opsbooks_playbooks")
    assert cli(root, "docs").returncode == 0
    docs = root / "docs/runbooks"
    orphan = docs / "ops/retired.md"
    orphan.write_text(f"{GENERATED_MARKER}\n\n# Retired\n")
    notes = docs / "README.md"
    notes.write_text("# How we write runbooks\n")

    check = cli(root, "docs", "--check")
    assert check.returncode == 1
    assert "orphan" in check.stdout and "ops/retired.md" in check.stdout
    assert "README.md is hand-written" in check.stdout

    assert cli(root, "docs").returncode == 0
    assert not orphan.exists() and notes.exists()
    assert cli(root, "docs", "--check").returncode == 0


@pytest.mark.slow
def test_subprocess_show_unknown_exits_2(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", "opsbooks_playbooks")
    shown = cli(root, "show", "security.incident")
    assert shown.returncode == 2
    assert "Did you mean: security.incident_response?" in shown.stderr
    assert "Traceback" not in shown.stderr


@pytest.mark.slow
def test_subprocess_list_uses_the_projects_own_playbooks(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", "opsbooks_playbooks")
    listed = cli(root, "list")
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    assert names == ["ops.restart", "security.incident_response"]


def test_config_option_finds_the_project_from_elsewhere(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["--config", str(project / "pyproject.toml"), "docs"]) == 0
    assert (project / "docs/runbooks/ops/restart.md").is_file()
    assert not (elsewhere / "docs").exists()
    capsys.readouterr()
    assert main(["--config", str(project / "pyproject.toml"), "docs", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
