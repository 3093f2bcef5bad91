"""DrillResult.assert_succeeded and runs that went on past a non-critical failure."""

from __future__ import annotations

from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.testing import Drill

pytestmark = pytest.mark.slow  # real `true` commands


class Warned(ob.Runbook):
    """A non-critical step fails; the run goes on."""

    name = "drill.warned"
    scope = "a drill"
    owner = "sre"
    last_reviewed = "2026-11-01"

    optional = ob.Command("true", on_failure="continue")
    main = ob.Command("true")


def test_a_run_with_warnings_passes_only_when_warnings_are_accepted(tmp_path: Path) -> None:
    drill = Drill(root=tmp_path, runbooks=(Warned,))
    result = drill.run("drill.warned", fail=["optional"])
    assert result.outcome == "succeeded_with_warnings"
    result.assert_succeeded(warnings_ok=True)
    with pytest.raises(AssertionError, match="pass warnings_ok=True"):
        result.assert_succeeded()
