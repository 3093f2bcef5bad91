"""Step outputs: ``::output NAME=VALUE`` lines, ``{outputs.NAME}`` in later templates."""

from __future__ import annotations

from dataclasses import replace

import pytest

import opsbooks as ob
from opsbooks.define.outputs import parse
from opsbooks.edges.config import Contacts
from opsbooks.errors import DefinitionError
from opsbooks.render.markdown import render_runbook
from opsbooks.testing import Drill

HOSTILE = "1.0.0'; touch pwned; echo '"
REVIEWED = "2026-11-28"


class Pick(ob.Runbook):
    """Finds a target at run time, asks about it, acts on it, and can undo with it."""

    name = "test.pick"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = REVIEWED

    class Params(ob.Params):
        choice: str = "1.0.0"
        fail_apply: bool = False

    find = ob.Command(
        "printf '%s\\n' found ::output=ignored && printf '::output target=%s\\n' {choice}",
        outputs=("target",),
    )
    approve = ob.Gate.confirm("Move to {outputs.target}?")
    apply = ob.Command("printf '%s\\n' {outputs.target} >> applied.txt", undo="unapply")
    finish = ob.Command("test {fail_apply} = false")
    announce = ob.Notify("Moved to {outputs.target}")

    unapply = ob.Command("printf 'undo %s\\n' {outputs.target} >> applied.txt")


def lines(drill: Drill, name: str) -> list[str]:
    return (drill.root / name).read_text().splitlines()


def test_parse_reads_output_lines_and_ignores_the_rest() -> None:
    text = "hello\n::output target=1.0.0\n::output bad = x\n::output=1\n::output bad=1.1.0\r\n"
    assert parse(text) == {"target": "1.0.0", "bad": "1.1.0"}


@pytest.mark.slow
def test_an_output_reaches_later_commands_gates_and_notifications_as_one_word(
    drill: Drill,
) -> None:
    result = drill.run(Pick, {"choice": HOSTILE}, answers={"approve": True})
    result.assert_succeeded()
    assert lines(drill, "applied.txt") == [HOSTILE]
    assert not (drill.root / "pwned").exists()
    (gate,) = result.gates
    assert gate.prompt == f"Move to {HOSTILE}?"
    assert f"Moved to {HOSTILE}" in result.output
    recorded = [t.detail.get("outputs") for t in result.transitions if t.step_id == "find"]
    assert {"target": HOSTILE} in recorded


@pytest.mark.slow
def test_an_undo_binds_the_outputs_of_the_run(drill: Drill) -> None:
    result = drill.run(Pick, {"fail_apply": True}, answers={"approve": True})
    assert result.outcome == "rolled_back", result.output
    assert lines(drill, "applied.txt") == ["1.0.0", "undo 1.0.0"]


@pytest.mark.slow
def test_a_resumed_run_binds_the_outputs_recorded_by_the_first(drill: Drill) -> None:
    drill = replace(drill, runbooks=(Pick,))
    stopped = drill.run(Pick, {"choice": "2.0.0"})
    assert stopped.outcome == "stopped", stopped.output  # the gate has no answer
    resumed = drill.resume(stopped.run_id, answers={"approve": True})
    resumed.assert_succeeded()
    assert resumed.history("find").count("running") == 1  # not re-run: its output was recorded
    assert lines(drill, "applied.txt") == ["2.0.0"]


@pytest.mark.slow
def test_a_declared_output_that_is_not_printed_fails_its_step(drill: Drill) -> None:
    class Silent(Pick):
        """Promises a target but never prints it."""

        name = "test.silent"
        find = ob.Command("echo nothing to see", outputs=("target",))

    result = drill.run(Silent, answers={"approve": True})
    assert result.outcome == "failed", result.output
    assert result.steps["find"] == "failed"
    assert (
        "declares output 'target' but printed no line `::output target=VALUE`"
        in (result.error.args[0] if result.error else "")
        or "::output target=VALUE" in result.output
    )
    result.assert_not_ran("apply")


def test_a_skipped_producer_of_a_needed_output_is_bad_input_before_any_step(
    drill: Drill,
) -> None:
    with pytest.raises(ob.BadInput) as caught:  # said before any step runs, not halfway
        drill.run(Pick, answers={"approve": True}, skip=["find"])
    message = str(caught.value)
    assert "step 'approve' needs output 'target', which step 'find' publishes" in message
    assert "do not --skip find" in message


@pytest.mark.slow
def test_a_python_step_publishes_its_return_value_under_its_id(drill: Drill) -> None:
    class Computed(ob.Runbook):
        """A Python step computes, a command uses it."""

        name = "test.computed"
        scope = "engine tests"
        owner = "sre"
        last_reviewed = REVIEWED

        @ob.step(title="Compute the port")
        def port(self, ctx: ob.StepContext) -> str:
            return "8443"

        use = ob.Command("echo {outputs.port} > port.txt")

    drill.run(Computed).assert_succeeded()
    assert lines(drill, "port.txt") == ["8443"]


def test_docs_show_the_placeholder_and_what_a_step_publishes() -> None:
    page = render_runbook(Pick, Contacts())
    assert "- **Outputs:** `target` (later steps use `{outputs.<name>}`)" in page
    assert "printf '%s\\n' {outputs.target} >> applied.txt" in page
    assert "Move to {outputs.target}?" in page


def test_an_output_nobody_declares_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match=r"\{outputs.version\} is not declared"):

        class Undeclared(ob.Runbook):
            """Uses an output no step promises."""

            name = "test.undeclared"
            scope = "engine tests"
            owner = "sre"
            last_reviewed = REVIEWED

            use = ob.Command("echo {outputs.version}")


def test_an_output_used_before_it_is_produced_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="not declared by any earlier step"):

        class Backwards(ob.Runbook):
            """Uses an output before the step that makes it."""

            name = "test.backwards"
            scope = "engine tests"
            owner = "sre"
            last_reviewed = REVIEWED

            use = ob.Command("echo {outputs.version}")
            make = ob.Command("echo ::output version=1", outputs=("version",))


def test_outputs_cannot_be_a_parameter_name() -> None:
    with pytest.raises(DefinitionError, match="reserved for step outputs"):

        class Clash(ob.Runbook):
            """A parameter called outputs."""

            name = "test.clash"
            scope = "engine tests"
            owner = "sre"
            last_reviewed = REVIEWED

            class Params(ob.Params):
                outputs: str = ""

            make = ob.Command("true")


@pytest.mark.slow
def test_an_output_printed_early_in_a_long_output_is_still_seen(drill: Drill) -> None:
    """The journal keeps the last 200 lines; outputs come from the whole output."""

    class Chatty(ob.Runbook):
        """Prints its output first, then a lot more."""

        name = "test.chatty"
        scope = "engine tests"
        owner = "sre"
        last_reviewed = REVIEWED

        find = ob.Command("echo ::output target=7.7.7; seq 1 500", outputs=("target",))
        use = ob.Command("echo {outputs.target} > target.txt")

    drill.run(Chatty).assert_succeeded()
    assert lines(drill, "target.txt") == ["7.7.7"]
