"""Temp projects and a CLI driver for the reliability tests (imported, not collected)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable

HEADER = """\
from __future__ import annotations

import opsbooks as ob

"""


def make_project(root: Path, modules: dict[str, str], *, extra_toml: str = "") -> tuple[Path, str]:
    """Lay out ``root`` with a uniquely named runbook package; return (root, package).

    ``modules`` maps ``category/name`` to the body of a runbook module (the header
    importing opsbooks is added).
    """
    package = f"rel_{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "opsbooks.toml").write_text(f'packages = ["{package}"]\n{extra_toml}')
    pkg = root / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for where, body in modules.items():
        category, name = where.split("/")
        (pkg / category).mkdir(exist_ok=True)
        (pkg / category / "__init__.py").write_text("")
        (pkg / category / f"{name}.py").write_text(HEADER + textwrap.dedent(body))
    return root, package


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOKS_")}
    env.update({"OPSBOOKS_USER": "torture-operator", "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


def cli(
    root: Path, *args: str, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m opsbooks ARGS`` in ``root`` and wait for it."""
    return subprocess.run(
        [PYTHON, "-m", "opsbooks", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=cli_env(**env),
        stdin=subprocess.DEVNULL,
        check=False,
    )


def spawn(root: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    """Start ``python -m opsbooks ARGS`` in ``root`` in a session of its own."""
    return subprocess.Popen(
        [PYTHON, "-m", "opsbooks", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(**env),
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def journal_db(root: Path) -> Path:
    return root / ".opsbooks" / "journal.db"


def query(root: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Read the journal with plain sqlite3 (a second reader, as an operator would)."""
    path = journal_db(root)
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=30)
    try:
        return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def latest_states(root: Path, run_id: str) -> dict[str, str]:
    rows = query(
        root, "SELECT step_id, status FROM transitions WHERE run_id=? ORDER BY seq", run_id
    )
    return {str(step): str(status) for step, status in rows}


def integrity(root: Path) -> str:
    db = sqlite3.connect(journal_db(root))
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def tagged_pids(tag: str) -> list[int]:
    """Processes whose environment carries ``OPSBOOKS_TORTURE_TAG=tag`` (orphaned steps)."""
    wanted = f"OPSBOOKS_TORTURE_TAG={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found
