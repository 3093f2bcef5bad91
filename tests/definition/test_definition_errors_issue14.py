"""Mistakes a new user made with issue 14's language features: each one is a
``DefinitionError`` naming the runbook, the step and the fix, never a raw Python
error. Pure, fast: each runbook class is defined (and so checked) on the spot.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
from typing import Any

import pytest

import opsbooks as ob


def _book(name: str = "unit.errs", module: str | None = None, **steps: Any) -> type[ob.Runbook]:
    body: dict[str, Any] = {
        "__doc__": "Exercise definition errors.",
        "name": name,
        "scope": "definition error tests",
        "owner": "sre",
        "last_reviewed": dt.date(2026, 11, 1),
        "Params": type("Params", (ob.Params,), {"__annotations__": {"rate": str}, "rate": "low"}),
        **steps,
    }
    if module is not None:
        body["__module__"] = module
        del body["name"]
    return type("Book", (ob.Runbook,), body)


class Child(ob.Runbook):
    """A runbook to include."""

    name = "unit.child"
    scope, owner, last_reviewed = "included", "sre", dt.date(2026, 11, 1)
    hello = ob.Command("echo hello")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("ops.restart_app", r"Include\('ops.restart_app'\): Include takes the runbook class"),
        (dict, r"Include\(dict\): Include takes a concrete Runbook subclass"),
        (ob.Section, r"Include\(Section\): Section is a section, not a runbook"),
    ],
)
def test_include_names_the_runbook_the_step_and_the_fix(given: Any, message: str) -> None:
    with pytest.raises(ob.DefinitionError, match=r"runbook unit\.errs, step 'inc': " + message):
        _book(first=ob.Command("echo"), inc=ob.Include(given, params={"x": "{rate}"}))


def test_a_branch_case_that_is_not_a_pair_is_a_definition_error() -> None:
    with pytest.raises(ob.DefinitionError, match=r"step 'pick': .*'rate > 1' is not a pair"):
        _book(pick=ob.Branch(cases=["rate > 1"]), a=ob.Command("echo"))  # type: ignore[list-item]


def test_two_runbooks_of_one_module_sharing_a_name_are_named_not_called_a_cycle() -> None:
    module = types.ModuleType("unit_pkg.ops.maintain")
    sys.modules[module.__name__] = module
    try:
        first = _book(module=module.__name__, a=ob.Command("echo"))
        assert first.name == "ops.maintain"
        with pytest.raises(ob.DefinitionError) as caught:
            _book(module=module.__name__, inc=ob.Include(first))
    finally:
        del sys.modules[module.__name__]
    message = str(caught.value)
    assert "two runbooks are named ops.maintain" in message
    assert "set `name` on one of them or put them in separate modules" in message
    assert "cycle" not in message


def test_a_bare_later_gate_in_when_is_refused_like_its_answers_form() -> None:
    with pytest.raises(ob.DefinitionError, match=r"when='g' names 'g', which is a gate that come"):
        _book(a=ob.Command("echo", when="g"), g=ob.Gate.confirm("go?"))
    with pytest.raises(ob.DefinitionError, match="a gate that comes later"):
        _book(a=ob.Command("echo", when="answers.g == true"), g=ob.Gate.confirm("go?"))
    book = _book(g=ob.Gate.confirm("go?"), a=ob.Command("echo", when="g"))  # earlier: fine
    assert [s.id for s in book.steps] == ["g", "a"]


@pytest.mark.parametrize(
    "step",
    [ob.Command("echo", note="on {host.name}"), ob.Command("echo {host.name}")],
)
def test_host_fields_on_a_local_step_say_where_host_exists(step: ob.Command) -> None:
    with pytest.raises(ob.DefinitionError) as caught:
        _book(a=step)
    message = str(caught.value)
    assert "exists only in steps that run on hosts (Remote, RemoteVerify, RemoteWait," in message
    assert "Add it to Params" not in message


def test_on_failure_on_a_branch_says_what_a_branch_is() -> None:
    with pytest.raises(ob.DefinitionError) as caught:
        _book(a=ob.Command("echo"), b=ob.Branch(cases=[("rate == 'x'", "a")], on_failure="stop"))
    message = str(caught.value)
    assert "does not apply to a branch: a branch runs no command" in message
    assert "declined gate" not in message


def test_an_unquoted_word_in_a_case_gets_the_quote_hint() -> None:
    with pytest.raises(ob.DefinitionError, match=r"to mean the text 'high', quote it: \"high\""):
        _book(b=ob.Branch(cases=[("rate == high", "a")]), a=ob.Command("echo"))


def test_include_of_a_real_runbook_still_works() -> None:
    book = _book(inc=ob.Include(Child))
    assert [s.id for s in book.steps] == ["inc.hello"]
