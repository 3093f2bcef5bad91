"""Commands know which run they belong to: OPSBOOKS_RUN_ID, OPSBOOKS_RUNBOOK, and, for
local commands, who runs it (OPSBOOKS_OPERATOR) and where its records live
(OPSBOOKS_STATE_DIR, absolute)."""

from __future__ import annotations

from dataclasses import replace

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


class WhoRuns(ob.Runbook):
    """Writes the operator and state dir a command, ctx.run and an env= override see."""

    name = "test.whoruns"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    record = ob.Command('printf "%s\\n%s\\n" "$OPSBOOKS_OPERATOR" "$OPSBOOKS_STATE_DIR" > seen.txt')
    overridden = ob.Command(
        'printf "%s\\n" "$OPSBOOKS_OPERATOR" > overridden.txt', env={"OPSBOOKS_OPERATOR": "x"}
    )

    @ob.step()
    def from_python(self, ctx: ob.StepContext) -> None:
        done = ctx.run('printf "%s %s" "$OPSBOOKS_OPERATOR" "$OPSBOOKS_STATE_DIR"')
        (ctx.workdir / "python.txt").write_text(done.stdout)


def test_a_command_sees_its_run_id_and_runbook(drill: Drill) -> None:
    result = drill.run(WhoAmI)
    result.assert_succeeded()
    assert (drill.root / "seen.txt").read_text().split() == [result.run_id, "test.whoami"]


def test_a_local_command_sees_the_operator_and_the_absolute_state_dir(drill: Drill) -> None:
    drill = replace(drill, environ={"OPSBOOKS_USER": "alice"}, settings={"state_dir": "var/ob"})
    result = drill.run(WhoRuns)
    result.assert_succeeded()
    state_dir = (drill.root / "var" / "ob").resolve()
    assert result.record.who == "alice"  # the same operator the journal records
    seen = (drill.root / "seen.txt").read_text().splitlines()
    assert seen == ["alice", str(state_dir)]
    assert (state_dir / "journal.db").is_file()  # it is where the run's records are
    assert (drill.root / "overridden.txt").read_text().strip() == "x"  # a step's env= wins
    assert (drill.root / "python.txt").read_text() == f"alice {state_dir}"  # ctx.run too
