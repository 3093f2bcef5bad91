"""The ``succeeded_with_warnings`` outcome, stored and read back by both journal dialects.

Python steps only, so the SQLite case runs no process (fast tier); PostgreSQL is slow.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.records.journal import open_journal
from opsbooks.testing import Drill


class Flaky(ob.Runbook):
    """Do two things; the first may fail without stopping the run."""

    name = "unit.flaky_warnings"
    scope, owner, last_reviewed = "journal tests", "sre", "2026-11-01"

    @ob.step(on_failure="continue", note="Trying the optional part")
    def optional(self, ctx: ob.StepContext) -> str | None:
        raise RuntimeError("the optional part is unavailable")

    @ob.step()
    def required(self, ctx: ob.StepContext) -> str | None:
        return None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_the_outcome_is_stored_and_read_back_with_its_warnings(url: str, tmp_path: Path) -> None:
    root = tmp_path / "drill"
    root.mkdir()
    drill = Drill(root=root, runbooks=(Flaky,), settings={"journal": url})
    result = drill.run(Flaky)
    assert result.outcome == "succeeded_with_warnings" and result.exit_code == 0
    assert result.steps == {"optional": "failed", "required": "succeeded"}
    journal = open_journal(url)
    try:
        (record,) = journal.runs(Flaky.name, limit=5)
        assert record.outcome == "succeeded_with_warnings"
        why = "optional failed (RuntimeError: the optional part is unavailable)"
        assert why in (record.reason or "")
        running = [t for t in journal.transitions(record.id) if t.status.value == "running"]
        assert running[0].detail["note"] == "Trying the optional part"
    finally:
        journal.close()
