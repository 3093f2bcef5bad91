"""Commands know which run they belong to: OPSBOOKS_RUN_ID and OPSBOOKS_RUNBOOK."""

from __future__ import annotations

import pytest

import opsbooks as ob
from opsbooks.testing import Drill

pytestmark = pytest.mark.slow  # a real sh command


class WhoAmI(ob.Runbook):
    """Writes the run id and runbook name its command sees."""

    name = "test.whoami"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    record = ob.Command('echo "$OPSBOOKS_RUN_ID $OPSBOOKS_RUNBOOK" > seen.txt')


def test_a_command_sees_its_run_id_and_runbook(drill: Drill) -> None:
    result = drill.run(WhoAmI)
    result.assert_succeeded()
    assert (drill.root / "seen.txt").read_text().split() == [result.run_id, "test.whoami"]
