"""Helpers for the backup and DR playbook tests (this folder is on sys.path under pytest).

``run_plan`` runs a plan's bound command and verification steps in order through
``sh -c``, the way the engine's local backend does, skipping gates and notices; it
proves the commands chain before (and independently of) the engine.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import opsbooks as ob
from opsbooks.define.runbook import parse_when

VENV_BIN = str(Path(sys.executable).parent)


@dataclass(frozen=True)
class Ran:
    """One step as run through ``sh -c``."""

    id: str
    exit_code: int
    stdout: str
    stderr: str


RunSteps = Callable[[ob.Plan], list[Ran]]


def sh(
    command: str, cwd: Path, step_env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``sh`` with the venv's bin first on PATH, as the engine does,
    and the step's own ``env=`` (how a secret reaches it)."""
    env = {**os.environ, "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}", **(step_env or {})}
    return subprocess.run(
        ["sh", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def _holds(step: ob.PlannedStep, params: ob.Params) -> bool:
    if step.condition is None or callable(step.condition):
        return True
    negate, name, op, literal = parse_when(step.condition)
    value = getattr(params, name)
    holds = bool(value) if op is None else (str(value) == literal) == (op == "==")
    return holds != negate


def run_plan(plan: ob.Plan, workdir: Path) -> list[Ran]:
    """Run the plan's command and verify steps in order; stop at the first failure."""
    assert plan.params is not None
    workdir.mkdir(parents=True, exist_ok=True)
    done: list[Ran] = []
    for step in plan.steps:
        if step.kind not in ("command", "verify") or not _holds(step, plan.params):
            continue
        assert step.command is not None
        result = sh(step.command, workdir, getattr(step.spec, "env", None))
        done.append(Ran(step.id, result.returncode, result.stdout, result.stderr))
        if result.returncode != 0:
            break
    return done


def ids(ran: Sequence[Ran]) -> list[str]:
    return [item.id for item in ran]


def make_sqlite(path: Path, rows: int = 10) -> str:
    """A WAL-mode SQLite database with ``rows`` orders; returns its URL."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)")
    conn.executemany("INSERT INTO orders (item) VALUES (?)", [(f"o{i}",) for i in range(rows)])
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def sqlite_rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT * FROM orders ORDER BY id"))
    finally:
        conn.close()


def opsbooks(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``opsbooks`` program from ``cwd`` (its own config, journal and PATH)."""
    return subprocess.run(
        [str(Path(VENV_BIN) / "opsbooks"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def last_report(project: Path) -> dict[str, Any]:
    run_id = opsbooks(project, "history").stdout.splitlines()[1].split()[0]
    report: dict[str, Any] = json.loads(
        opsbooks(project, "report", run_id, "--format", "json").stdout
    )
    return report
