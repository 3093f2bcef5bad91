"""`opsbooks init` in real temporary git repositories, checked by the real tools.

One repository is set up once per module; each test then runs one tool against it as
a subprocess (`opsbooks list/lint/docs --check`, `invoke --list`, `pytest` of the
generated drill, a second `init`), as a new user would.
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


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSBOOKS_", "PYTEST_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    # git never looks above the temporary directory, whatever holds it
    env["GIT_CEILING_DIRECTORIES"] = str(Path(tempfile.gettempdir()).resolve())
    return env


def run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv), cwd=root, env=_env(root), capture_output=True, text=True, timeout=90
    )


def git_repo(path: Path) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return path


def snapshot(root: Path) -> Mapping[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository with a pyproject.toml and a .github directory, after `opsbooks init`."""
    root = git_repo(tmp_path_factory.mktemp("init") / "app")
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1.0"\n')
    (root / ".github").mkdir()
    (root / "sub").mkdir()
    done = run(root / "sub", OPSBOOKS, "init")  # from a subdirectory: the top level is used
    assert done.returncode == 0, done.stderr
    assert "wrote     " + str(root / "runbooks/ops/clean_logs.py") in done.stdout
    return root


def test_list_shows_the_example(project: Path) -> None:
    done = run(project, OPSBOOKS, "list")
    assert done.returncode == 0, done.stderr
    assert "ops.clean_logs" in done.stdout and "Clean Up Old Rotated Logs" in done.stdout


def test_lint_has_no_error_and_docs_are_in_sync(project: Path) -> None:
    lint = run(project, OPSBOOKS, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "1 runbook(s) checked: 0 error(s)" in lint.stdout
    docs = run(project, OPSBOOKS, "docs", "--check")
    assert docs.returncode == 0, docs.stdout
    assert (project / "docs/runbooks/ops/clean_logs.md").is_file()


def test_invoke_lists_the_runbook(project: Path) -> None:
    done = run(project, str(BIN / "invoke"), "--list")
    assert done.returncode == 0, done.stderr
    assert "ops.clean-logs" in done.stdout


def test_the_generated_drill_passes(project: Path) -> None:
    done = run(project, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_the_ci_workflow_runs_the_drift_check_and_lint(project: Path) -> None:
    workflow = (project / ".github/workflows/runbooks.yml").read_text()
    assert "run: opsbooks docs --check" in workflow and "run: opsbooks lint" in workflow


def test_a_second_init_changes_nothing_and_says_so(project: Path) -> None:
    before = snapshot(project)
    done = run(project, OPSBOOKS, "init")
    assert done.returncode == 0, done.stderr
    assert snapshot(project) == before
    assert "nothing changed" in done.stdout
    assert "wrote" not in done.stdout


def test_a_tasks_py_with_ns_collection_is_extended(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "own")
    (root / "tasks.py").write_text(
        "from invoke import Collection, task\n\n\n@task\ndef build(c):\n"
        '    """Build the app."""\n\n\nns = Collection(build)\n'
    )
    done = run(root, OPSBOOKS, "init", "--package", "team_books")
    assert done.returncode == 0, done.stderr
    assert "extended  " + str(root / "tasks.py") in done.stdout
    assert "save this as .github/workflows/runbooks.yml" in done.stdout  # no .github: printed
    listed = run(root, str(BIN / "invoke"), "--list")
    assert listed.returncode == 0, listed.stderr
    assert "build" in listed.stdout and "team-books.ops.clean-logs" in listed.stdout
    assert (root / "opsbooks.toml").is_file() and not (root / "pyproject.toml").exists()


def test_an_unsafe_tasks_py_is_left_untouched_with_the_lines_to_add(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "unsafe")
    source = "from invoke import task\n\n\n@task\ndef build(c):\n    pass\n"
    (root / "tasks.py").write_text(source)
    done = run(root, OPSBOOKS, "init")
    assert done.returncode == 0, done.stderr
    assert (root / "tasks.py").read_text() == source
    assert "not safe to change" in done.stdout
    assert 'ns.add_collection(_opsbooks_collection(), name="runbooks")' in done.stdout


def test_outside_a_git_repository_exit_2_with_what_to_add(tmp_path: Path) -> None:
    done = run(tmp_path, OPSBOOKS, "init")
    assert done.returncode == 2
    assert "is not in one" in done.stderr and "ns = collection()" in done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_package_name_that_is_not_an_identifier_exits_2(tmp_path: Path) -> None:
    root = git_repo(tmp_path / "bad")
    done = run(root, OPSBOOKS, "init", "--package", "my-runbooks")
    assert done.returncode == 2
    assert "--package 'my-runbooks' is not a Python package name" in done.stderr
    assert list(root.iterdir()) == [root / ".git"]
