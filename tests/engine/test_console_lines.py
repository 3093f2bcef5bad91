"""What the operator reads: every step is named on the console, skipped ones too."""

from __future__ import annotations

import pytest

import opsbooks as ob
from opsbooks.testing import Drill


class Optional(ob.Runbook):
    """One step that runs, one that is skipped by its condition."""

    name = "test.optional"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    class Params(ob.Params):
        extra: bool = False

    always = ob.Command("true")
    maybe = ob.Command("true", when="extra")


@pytest.mark.slow
def test_a_skipped_step_is_named_with_its_reason(drill: Drill) -> None:
    result = drill.run(Optional)
    result.assert_succeeded()
    assert "[1/2] always: Always (command)" in result.output
    assert "    maybe: skipped (when 'extra' is false (extra=false))" in result.output


class Approve(ob.Runbook):
    """A gate answered without a person at the terminal."""

    name = "test.approve"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    class Params(ob.Params):
        target: str = "blue"

    approve = ob.Gate.confirm("Deploy to {target}?")


def test_a_gate_answered_from_a_file_shows_what_it_asked(drill: Drill) -> None:
    result = drill.run(Approve, {"target": "green"}, answers={"approve": True})
    result.assert_succeeded()
    assert "    asked: Deploy to green?\n    answered yes by drill via answers" in result.output
