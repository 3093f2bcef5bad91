"""Sections and Include at definition: dotted ids in order, references resolved nearest
section first, the plan's section records and fingerprint, and every misuse refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.plan.binding import plan
from opsbooks.plan.sections import expand, numbering

DOC: dict[str, Any] = {"scope": "unit tests", "owner": "sre", "last_reviewed": dt.date(2026, 11, 1)}


class Restart(ob.Runbook):
    """Restart nginx on one host."""

    name = "web.restart_nginx"
    scope, owner, last_reviewed = "unit tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        host: str
        grace: int = 5

    go = ob.Gate.confirm("Restart nginx on {host}?")
    stop = ob.Command("service nginx stop {host}", undo="start", when="go")
    start = ob.Command("service nginx start {host} --grace {grace}")
    check = ob.Command("service nginx status {host}")


class Fleet(ob.Runbook):
    """Drain, restart and undrain."""

    name = "web.fleet"
    scope, owner, last_reviewed = "unit tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        target: str = "web1"

    announce = ob.Command("announce")

    class drain(ob.Section):
        """Drain the pool

        Takes the host out of the load balancer.
        """

        approve = ob.Gate.confirm("Drain?")
        take_out = ob.Command("lb out {target}", undo="put_back", when="approve")
        put_back = ob.Command("lb in {target}")

        class verify(ob.Section):
            """Verify it is drained"""

            probe = ob.Command("lb probe {target}", undo=ob.Command("lb note {target}"))
            route = ob.Branch("approve", {"yes": "finish"}, default="drain.put_back_now")

        put_back_now = ob.Command("lb in {target}")

    restart = ob.Include(Restart, params={"host": "{target}"})
    finish = ob.Command("done", undo="drain.put_back")


def test_section_steps_get_dotted_ids_in_definition_order() -> None:
    assert [s.id for s in Fleet.steps] == [
        "announce",
        "drain.approve",
        "drain.take_out",
        "drain.verify.probe",
        "drain.verify.route",
        "drain.put_back_now",
        "restart.go",
        "restart.stop",
        "restart.check",
        "finish",
    ]
    assert set(Fleet.compensations) == {
        "drain.put_back",
        "drain.verify.undo_probe",
        "restart.start",
    }
    assert [(s.id, s.title) for s in Fleet.sections] == [
        ("drain", "Drain the pool"),
        ("drain.verify", "Verify it is drained"),
        ("restart", "Restart"),  # an include's title is the included runbook's
    ]
    assert Fleet.sections[0].description == "Takes the host out of the load balancer."


def test_a_bare_id_resolves_in_its_own_section_first_and_a_dotted_id_as_written() -> None:
    assert Fleet.step("drain.take_out").undo == "drain.put_back"
    assert Fleet.step("finish").undo == "drain.put_back"  # the full id, from the top
    route = Fleet.step("drain.verify.route")
    assert isinstance(route, ob.Branch)
    assert route.on == "drain.approve"  # the gate of the enclosing section
    assert dict(route.routes) == {"yes": "finish"}  # no drain.finish: the top-level one
    assert route.default == "drain.put_back_now"
    assert Fleet.step("drain.take_out").when == "answers.drain.approve"


def test_a_step_title_defaults_to_the_last_part_of_its_id() -> None:
    assert plan(Fleet).get("drain.take_out").title == "Take out"


def test_an_included_runbook_binds_its_params_from_the_parents() -> None:
    bound = plan(Fleet, Fleet.Params(target="web7"))
    assert bound.get("restart.stop").command == "service nginx stop web7"
    assert bound.get("restart.start").command == "service nginx start web7 --grace 5"
    assert bound.get("restart.stop").undo == "restart.start"
    assert bound.get("restart.stop").when == "answers.restart.go"
    unbound = plan(Fleet)  # for docs: the child's placeholders stay
    assert unbound.get("restart.stop").command == "service nginx stop {host}"
    info = Fleet.sections[-1]
    assert (info.include, info.include_params) == ("web.restart_nginx", (("host", "{target}"),))


def test_sections_number_one_two_two_one() -> None:
    numbers = numbering(plan(Fleet).ids())
    assert [numbers[k] for k in ("announce", "drain", "drain.approve", "drain.verify")] == [
        "1",
        "2",
        "2.1",
        "2.3",
    ]
    assert numbers["drain.verify.route"] == "2.3.2"
    assert (numbers["drain.put_back_now"], numbers["restart"], numbers["finish"]) == (
        "2.4",
        "3",
        "4",
    )


def test_start_at_and_skip_accept_a_section_id() -> None:
    assert expand(Fleet, "drain", ["drain.verify", "restart"]) == (
        "drain.approve",
        ("drain.verify.probe", "drain.verify.route", "restart.go", "restart.stop", "restart.check"),
    )
    bound = plan(Fleet, Fleet.Params(), start_at="restart", skip=["drain.verify"])
    reasons = {p.id: p.skip_reason for p in bound.steps}
    assert reasons["drain.put_back_now"] == "before --start-at restart.go"
    assert reasons["restart.go"] is None


def test_an_unknown_section_is_bad_input_listing_sections_and_steps() -> None:
    with pytest.raises(ob.BadInput) as caught:
        plan(Fleet, Fleet.Params(), skip=["drian"])
    message = str(caught.value)
    assert "--skip drian: web.fleet has no step or section 'drian'" in message
    assert "its sections are: drain, drain.verify, restart" in message
    assert "drain.take_out" in message


def test_the_fingerprint_changes_when_the_included_runbook_changes() -> None:
    def parent(child: type[ob.Runbook], target: str = "{target}") -> str:
        class Parent(ob.Runbook):
            """Parent."""

            name = "web.parent"
            scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]

            class Params(ob.Params):
                target: str = "web1"

            inc = ob.Include(child, params={"host": target})

        return plan(Parent).fingerprint

    class Changed(Restart):
        """Restart nginx on one host."""

        name = "web.restart_nginx"
        check = ob.Command("service nginx status {host} --verbose")

    assert parent(Restart) == parent(Restart)
    assert parent(Restart) != parent(Changed)
    assert parent(Restart) != parent(Restart, "{target}.example")


def test_a_subclass_overriding_a_section_keeps_its_place() -> None:
    class Later(Fleet):
        """Drain differently."""

        class drain(ob.Section):
            """Drain quickly"""

            take_out = ob.Command("lb out --now {target}", undo="put_back")
            put_back = ob.Command("lb in {target}")

    assert [s.id for s in Later.steps][:3] == ["announce", "drain.take_out", "restart.go"]
    assert "drain.verify.probe" not in Later.compensations | {s.id: s for s in Later.steps}


def _define(body: dict[str, Any], params: type[ob.Params] = ob.NoParams) -> type[ob.Runbook]:
    namespace = {"__doc__": "Broken.", "name": "unit.broken", "Params": params, **DOC, **body}
    return type("Broken", (ob.Runbook,), namespace)


def _section(doc: str, **steps: Any) -> type[ob.Section]:
    return type("part", (ob.Section,), {"__doc__": doc, **steps})


def test_a_section_id_that_is_also_a_step_id_is_refused() -> None:
    part = _section("Part", x=ob.Command("x"), undo_x=ob.Command("y"))
    with pytest.raises(ob.DefinitionError, match=r"section id 'part.undo_x'|duplicate step id"):
        _define({"part": part, "part.undo_x": ob.Command("z")})
    with pytest.raises(ob.DefinitionError, match="section id 'steps' is also a runbook attribute"):
        _define({"first": ob.Command("a"), "steps": _section("Steps", x=ob.Command("x"))})


def test_a_section_and_a_step_sharing_a_diagram_node_are_refused() -> None:
    with pytest.raises(ob.DefinitionError, match=r"'part__x' and 'part.x' would share"):
        _define({"part__x": ob.Command("a"), "part": _section("Part", x=ob.Command("b"))})


def test_an_empty_section_is_refused() -> None:
    with pytest.raises(ob.DefinitionError, match=r"section 'part' has no steps of its own"):
        _define({"first": ob.Command("a"), "part": _section("Part")})


class Target(ob.Params):
    target: str = "web1"
    password: ob.SecretStr = ob.SecretStr("x")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"host": "{target}", "hots": "x"}, r"Include\(Restart\) has no param 'hots'; its params"),
        ({"host": "{tagret}"}, r"names \{tagret\}, which is not a parameter of unit.broken"),
        ({}, r"Include\(Restart\) needs params host"),
        ({"host": "{password}"}, r"passes a secret to web.restart_nginx's plain param 'host'"),
    ],
)
def test_include_params_that_do_not_fit_are_refused(given: dict[str, str], message: str) -> None:
    with pytest.raises(ob.DefinitionError, match=message) as caught:
        _define({"inc": ob.Include(Restart, params=given)}, Target)
    assert caught.value.step == "inc"


def test_an_included_when_naming_an_unmapped_param_is_refused() -> None:
    class Child(ob.Runbook):
        """Child."""

        name = "unit.child"
        scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]

        class Params(ob.Params):
            fast: bool = False

        go = ob.Command("go", when="fast")

    with pytest.raises(ob.DefinitionError, match=r"names unit.child's param 'fast'.*params="):
        _define({"inc": ob.Include(Child)}, Target)
    ok = _define({"inc": ob.Include(Child, params={"fast": "{target}"})}, Target)
    assert ok.step("inc.go").when == "target"


def test_an_include_cycle_is_refused() -> None:
    class A(ob.Runbook):
        """A."""

        name = "unit.cycle_a"
        scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]
        a = ob.Command("a")

    class B(ob.Runbook):
        """B includes A."""

        name = "unit.cycle_b"
        scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]
        a = ob.Include(A)

    with pytest.raises(ob.DefinitionError, match=r"Include cycle: unit.cycle_a includes"):

        class A2(ob.Runbook):  # a new definition of unit.cycle_a that includes B
            """A again."""

            name = "unit.cycle_a"
            scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]
            b = ob.Include(B)


def test_include_takes_a_concrete_runbook() -> None:
    with pytest.raises(ob.DefinitionError, match=r"Include\(...\) takes a concrete Runbook"):
        _define({"first": ob.Command("a"), "inc": ob.Include(ob.Runbook)})


def test_a_parent_value_that_does_not_fit_the_included_param_is_bad_input() -> None:
    class Parent(ob.Runbook):
        """Parent."""

        name = "unit.parent_grace"
        scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]

        class Params(ob.Params):
            target: str = "web1"
            grace: str = "5"

        inc = ob.Include(Restart, params={"host": "{target}", "grace": "{grace}"})

    assert plan(Parent, Parent.Params(grace="7")).get("inc.start").command.endswith("--grace 7")
    with pytest.raises(ob.ParamsError, match=r"params given to the included runbook"):
        plan(Parent, Parent.Params(grace="soon"))
