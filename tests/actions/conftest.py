"""Real parts for the release actions: git repos with a bare origin, a loopback HTTP server."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

PYPROJECT = '[project]\nname = "demo"\nversion = "{version}"\n'
CHANGELOG = "# Changelog\n\n## [{version}] - 2026-11-01\n\n- Notes of {version}.\n"


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` for test set-up; fail loudly."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def commit_release(repo: Path, version: str) -> None:
    """Commit pyproject and changelog saying ``version`` and push them."""
    (repo / "pyproject.toml").write_text(PYPROJECT.format(version=version))
    (repo / "CHANGELOG.md").write_text(CHANGELOG.format(version=version))
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", f"Prepare {version}")
    git(repo, "push", "--quiet", "origin", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    path = tmp_path / "origin.git"
    subprocess.run(["git", "init", "--quiet", "--bare", "-b", "main", str(path)], check=True)
    return path


@pytest.fixture
def repo(tmp_path: Path, origin: Path) -> Path:
    """A clone of ``origin`` at version 1.0.0 with a changelog entry, pushed, untagged."""
    path = tmp_path / "app"
    subprocess.run(["git", "init", "--quiet", "-b", "main", str(path)], check=True)
    git(path, "remote", "add", "origin", str(origin))
    (path / "app.py").write_text("print('hello')\n")
    commit_release(path, "1.0.0")
    return path


Run = Callable[..., subprocess.CompletedProcess[str]]
Git = Callable[..., str]


@pytest.fixture(name="git")
def git_fixture() -> Git:
    """``git(repo, *args)``: run git for test set-up and return stdout."""
    return git


@pytest.fixture(name="commit_release")
def commit_release_fixture() -> Callable[[Path, str], None]:
    """``commit_release(repo, version)``: commit a version bump with changelog, push it."""
    return commit_release


@pytest.fixture
def action() -> Run:
    """Run ``python -m opsbooks_playbooks.actions.<module> args...`` as an operator would."""

    def run(module: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", f"opsbooks_playbooks.actions.{module}", *map(str, args)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )

    return run


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _serve(folder: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def http_server() -> Callable[[Path], AbstractContextManager[str]]:
    """Serve a folder over real HTTP on 127.0.0.1; the context yields its base URL."""
    return _serve
