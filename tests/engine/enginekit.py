"""Engine test helpers: a throwaway project holding ``engbooks`` and a real-CLI runner."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BOOKS = Path(__file__).resolve().parent / "books" / "engbooks"
PYTHON = sys.executable


@dataclass
class Done:
    """A finished CLI invocation."""

    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


@dataclass
class Project:
    """A temp project whose ``pyproject.toml`` points at the ``engbooks`` package."""

    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def ledger(self) -> list[str]:
        path = self.root / "ledger.txt"
        return path.read_text().splitlines() if path.exists() else []

    @property
    def journal_path(self) -> Path:
        return self.root / ".opsbooks" / "journal.db"

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        env.update(extra or {})
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def argv(self, *args: str) -> list[str]:
        return [PYTHON, "-m", "opsbooks", *args]

    def cli(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str | None = None,
        timeout: float = 30,
    ) -> Done:
        done = subprocess.run(
            self.argv(*args),
            cwd=self.root,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin if stdin is not None else "",
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def spawn(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            cwd=self.root,
            env=self.env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.write_text(text)
        return path

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.journal_path)

    def runs(self) -> list[tuple[str, str, str]]:
        if not self.journal_path.exists():
            return []
        with self.db() as db:
            return [tuple(r) for r in db.execute("SELECT id, runbook, outcome FROM runs")]

    def last_run(self) -> str:
        with self.db() as db:
            row = db.execute("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
        assert row is not None, "no run in the journal"
        return str(row[0])

    def outcome(self, run_id: str) -> str:
        with self.db() as db:
            (outcome,) = db.execute("SELECT outcome FROM runs WHERE id=?", (run_id,)).fetchone()
        return str(outcome)

    def gates(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The gate decisions of a run, read through opsbooks' own journal reader."""
        from opsbooks.records.journal import open_journal

        journal = open_journal(f"sqlite:///{self.journal_path}")
        try:
            return {g.step_id: vars(g) for g in journal.gates(run_id)}
        finally:
            journal.close()

    def report(self, run_id: str) -> dict[str, Any]:
        done = self.cli("report", run_id, "--format", "json")
        assert done.code == 0, done.both
        data: dict[str, Any] = json.loads(done.out)
        return data

    def transitions(self, run_id: str) -> list[tuple[str, str, str]]:
        with self.db() as db:
            rows = db.execute(
                "SELECT step_id, status, COALESCE(reason, '') FROM transitions WHERE run_id=? "
                "ORDER BY rowid",
                (run_id,),
            )
            return [tuple(r) for r in rows]

    def statuses(self, run_id: str) -> dict[str, str]:
        return {step: status for step, status, _ in self.transitions(run_id)}


def make_project(root: Path, toml_extra: str = "") -> Project:
    shutil.copytree(BOOKS, root / "engbooks", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text(
        '[project]\nname = "engine-test-project"\nversion = "0"\n\n'
        '[tool.opsbooks]\npackages = ["engbooks"]\n' + toml_extra
    )
    return Project(root)
