"""The shared kit of the tests that drive the real CLI in a temporary project.

Imported, not collected: ``tests/conftest.py`` puts ``tests/`` on ``sys.path``, so any
test folder writes ``from cli_kit import cli, write_project``. One copy of how a project
is laid out (config, a runbook package, an sshd inventory), how the CLI is started (a
subprocess with no ``OPSBOOKS_*`` leaking in from the caller) and how the journal is
read back, so a change to any of them is made once rather than in every CLI test.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsbooks.records.journal import open_journal

REPO = Path(__file__).resolve().parents[1]
PYTHON = str(REPO / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable

HEADER = "from __future__ import annotations\n\nimport opsbooks as ob\n\n"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def to_toml(data: Mapping[str, Any], prefix: str = "") -> str:
    """Nested mappings as TOML tables (strings, numbers, booleans, lists of strings).

    Enough for ``opsbooks.toml``: ``{"packages": [...], **cluster.inventory_config()}``
    gives ``[hosts."web1"]`` and ``[hosts."web1".vars]`` tables and an ``[ssh]`` table.
    """
    plain = {k: v for k, v in data.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in data.items() if isinstance(v, Mapping)}
    lines = [f"[{prefix}]"] if prefix and plain else []
    for key, value in plain.items():
        shown = str(value).lower() if isinstance(value, bool) else json.dumps(value)
        lines.append(f"{_key(key)} = {shown}")
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for key, value in tables.items():
        text += to_toml(value, f"{prefix}.{_key(key)}" if prefix else _key(key))
    return text


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def write_project(
    root: Path,
    modules: Mapping[str, str],
    *,
    package: str = "books",
    config: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Lay out a project in ``root`` and return ``root``.

    ``modules`` maps a path inside ``package`` without ``.py`` (``"web/maintain"``) to
    its source, dedented; the ``opsbooks`` import is put in front unless the source has
    it. Every folder of the package gets an ``__init__.py``. ``config`` is added to
    ``packages = [package]`` in ``opsbooks.toml`` (an inventory from
    ``SshdCluster.inventory_config`` fits as it is). ``files`` are other files, by
    path relative to ``root``, written as given.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "opsbooks.toml").write_text(to_toml({"packages": [package], **(config or {})}))
    for where, source in modules.items():
        path = root / package / f"{where}.py"
        folder = path.parent
        while folder != root:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "__init__.py").touch()
            folder = folder.parent
        text = textwrap.dedent(source)
        path.write_text(text if "import opsbooks as ob" in text else HEADER + text)
    for relative, text in (files or {}).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def clean_env(user: str | None = "tester", **extra: str) -> dict[str, str]:
    """This process's environment without any ``OPSBOOKS_*``, plus ``OPSBOOKS_USER``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOKS_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if user is not None:
        env["OPSBOOKS_USER"] = user
    env.update(extra)
    return env


def cli(
    root: Path,
    *args: str,
    user: str | None = "tester",
    cwd: Path | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    **more_env: str,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m opsbooks ARGS`` in ``root`` (or ``cwd``), no stdin, and wait.

    ``env`` and ``more_env`` are added to the clean environment of ``clean_env``.
    """
    return subprocess.run(
        [PYTHON, "-m", "opsbooks", *args],
        cwd=cwd or root,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clean_env(user), **(env or {}), **more_env},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def lines_of(path: Path) -> list[str]:
    """The lines a step appended to ``path`` (none when no step wrote it)."""
    return path.read_text().splitlines() if path.exists() else []


def run_ids(output: str) -> list[str]:
    """The run ids the console announced (``... as run ID``), in order."""
    return re.findall(r"as run (\S+)", output)


def journal_db(root: Path) -> Path:
    return root / ".opsbooks" / "journal.db"


def query(root: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    """Read the project's SQLite journal with plain sqlite3, as an operator would."""
    with sqlite3.connect(journal_db(root)) as db:
        return list(db.execute(sql, args))


def last_run(root: Path) -> str:
    """The id of the run started last."""
    ((run_id,),) = query(root, "SELECT id FROM runs ORDER BY started_at DESC LIMIT 1")
    return str(run_id)


def journal_runs(root: Path) -> list[Any]:
    """The journal's run records through the library (none before the first run)."""
    if not journal_db(root).exists():
        return []
    journal = open_journal(f"sqlite:///{journal_db(root)}")
    try:
        return list(journal.runs())
    finally:
        journal.close()
