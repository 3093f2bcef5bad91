"""``{answers.ID}`` in a template resolves like ``when=``: own section, enclosing, top.

Fast: the plan is made and its late fields bound in process, with a plain answers map.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.plan.binding import fingerprint, with_outputs


@dataclass
class Run:
    answers: Mapping[str, Any] = field(default_factory=dict)
    run_id: str = "20261202-000000-abcdef"


class Nested(ob.Runbook):
    """Gates of one bare name at the top, in a section and in a nested one."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

    ticket = ob.Gate.ask("Ticket at the top?")
    top = ob.Command("echo {answers.ticket}")

    class drain(ob.Section):
        """Drain"""

        ticket = ob.Gate.ask("Ticket of the drain?")
        note_it = ob.Command(
            ["log", "--ticket={answers.ticket}", "{{answers.ticket}}"],
            note="Drain ticket {answers.ticket}",
            env={"TICKET": "{answers.ticket}"},
        )

        class verify(ob.Section):
            """Verify"""

            probe = ob.Command("probe {answers.ticket} {answers.drain.ticket}")

    class other(ob.Section):
        """Other"""

        quoted = ob.Command("say {answers.ticket}")  # no gate of that name here: the top's


def planned_step(step: str) -> Any:
    return next(p for p in ob.plan(Nested).steps if p.id == step)


def command(step: str, answers: Mapping[str, Any]) -> str:
    planned = planned_step(step)
    bound = with_outputs(planned, None, {}, run=Run(answers))
    assert bound.command is not None
    return bound.command


ANSWERS = {"ticket": "TOP-1", "drain.ticket": "DR-2"}


def test_a_bare_answer_in_a_section_names_the_gate_of_its_own_section() -> None:
    assert command("drain.note_it", ANSWERS) == "log --ticket=DR-2 '{answers.ticket}'"
    planned = planned_step("drain.note_it")
    assert planned.command == "log '--ticket={answers.drain.ticket}' '{answers.ticket}'"


def test_a_nested_step_finds_the_enclosing_sections_gate_before_the_top() -> None:
    assert command("drain.verify.probe", ANSWERS) == "probe DR-2 DR-2"


def test_without_a_gate_in_its_sections_the_bare_id_is_the_top_level_gate() -> None:
    assert command("other.quoted", ANSWERS) == "say TOP-1"
    assert command("top", ANSWERS) == "echo TOP-1"


def test_notes_and_env_resolve_the_same_way() -> None:
    step = Nested.step("drain.note_it")
    assert step.note == "Drain ticket {answers.drain.ticket}"
    assert dict(vars(step)["env"]) == {"TICKET": "{answers.drain.ticket}"}


def test_a_runbook_that_writes_full_ids_keeps_its_fingerprint() -> None:
    class Full(ob.Runbook):
        """Full ids."""

        scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

        class drain(ob.Section):
            """Drain"""

            ticket = ob.Gate.ask("Ticket?")
            log = ob.Command("log {answers.drain.ticket}")

    class Bare(ob.Runbook):
        """Bare ids."""

        name = Full.name
        scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

        class drain(ob.Section):
            """Drain"""

            ticket = ob.Gate.ask("Ticket?")
            log = ob.Command("log {answers.ticket}")

    assert Full.step("drain.log").command == "log {answers.drain.ticket}"  # type: ignore[attr-defined]
    assert fingerprint(Bare) == fingerprint(Full)  # the same step, written two ways


def test_a_bare_answer_of_a_later_gate_in_the_section_is_refused() -> None:
    with pytest.raises(ob.DefinitionError, match=r"drain\.early.*comes later"):

        class Early(ob.Runbook):
            """Later gate."""

            scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

            class drain(ob.Section):
                """Drain"""

                early = ob.Command("log {answers.ticket}")
                ticket = ob.Gate.ask("Ticket?")


def test_a_secret_answer_named_bare_in_a_section_is_refused_on_the_command_line() -> None:
    with pytest.raises(ob.DefinitionError, match=r"secret \{answers\.vault\.token\}"):

        class Leaky(ob.Runbook):
            """Secret on argv."""

            scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

            class vault(ob.Section):
                """Vault"""

                token = ob.Gate.ask("Token?", secret=True)
                login = ob.Command(["vault", "login", "{answers.token}"])


class Child(ob.Runbook):
    """An included runbook naming its own gate."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

    approve = ob.Gate.ask("Change ticket?")
    record = ob.Command("record {answers.approve}")


class Parent(ob.Runbook):
    """Includes Child as section ``app``."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

    app = ob.Include(Child)


def test_an_included_runbooks_own_gate_is_its_sections_gate_in_the_parent() -> None:
    planned = next(p for p in ob.plan(Parent).steps if p.id == "app.record")
    bound = with_outputs(planned, None, {}, run=Run({"app.approve": "CHG-7"}))
    assert bound.command == "record CHG-7"
    assert Child.step("record").command == "record {answers.approve}"  # type: ignore[attr-defined]
