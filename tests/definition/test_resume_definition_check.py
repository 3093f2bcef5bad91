"""A resume compares the definition of the steps already done (the plan's fingerprint):
a changed one is a question before anything runs, an unchanged one is none (issue 18
row 4 made resume planning cheaper; this is what it must keep)."""

from __future__ import annotations

from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.errors import BadInput
from opsbooks.testing import Drill


def _three(first: str) -> type[ob.Runbook]:
    class Three(ob.Runbook):
        """Three commands; the second fails once."""

        name = "demo.resume_three"
        scope = "x"
        owner = "me"
        last_reviewed = "2026-11-01"

        a = ob.Command(first)
        b = ob.Command("echo b")
        c = ob.Command("echo c")

    return Three


def test_a_resume_asks_when_a_step_already_done_changed(tmp_path: Path) -> None:
    before = Drill(root=tmp_path, runbooks=(_three("echo a"),))
    stopped = before.run("demo.resume_three", fail={"b": "down"}, no_rollback=True)
    assert stopped.steps["a"] == "succeeded" and stopped.steps["b"] == "failed"
    after = Drill(root=tmp_path, runbooks=(_three("echo a, changed"),))
    with pytest.raises(BadInput, match="the definition changed"):
        after.resume(stopped.run_id)
    done = after.resume(stopped.run_id, yes=True)
    done.assert_succeeded()
    assert done.history("a") == ["running", "succeeded"]  # done: not run again
    same = Drill(root=tmp_path / "same", runbooks=(_three("echo a"),))
    stopped = same.run("demo.resume_three", fail={"b": "down"}, no_rollback=True)
    same.resume(stopped.run_id).assert_succeeded()  # unchanged: no question
