"""A malformed runbook fails at class definition with a DefinitionError naming runbook,
step and fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.errors import BadInput, DefinitionError

DOCS: dict[str, Any] = {"scope": "tests", "owner": "me", "last_reviewed": "2026-11-01"}


def define(name: str, params: type[ob.Params] | None = None, **attrs: Any) -> type[ob.Runbook]:
    """Create a runbook class the way a ``class`` statement would."""
    namespace: dict[str, Any] = {"__doc__": "Purpose.", "name": f"bad.{name}", **DOCS}
    if params is not None:
        namespace["Params"] = params
    namespace.update(attrs)
    return type(name, (ob.Runbook,), namespace)


class Version(ob.Params):
    version: str = "1.0"


def raises(build: Callable[[], object]) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        build()
    return caught.value


def test_duplicate_step_id() -> None:
    error = raises(
        lambda: define(
            "dup",
            tag=ob.Command("git tag v1", undo=ob.Command("git tag -d v1", id="untag")),
            untag=ob.Command("true"),
        )
    )
    assert error.runbook == "bad.dup" and error.step == "untag"
    assert "duplicate step id" in str(error)
    assert "give each step its own attribute name" in str(error)


def test_step_id_clashing_with_a_param() -> None:
    error = raises(lambda: define("clash", Version, version=ob.Command("true")))
    assert error.step == "version"
    assert "also a parameter name; rename one of them" in str(error)


def test_unknown_param_in_command_template() -> None:
    error = raises(lambda: define("unknown", Version, tag=ob.Command("git tag v{verison}")))
    message = str(error)
    assert error.runbook == "bad.unknown" and error.step == "tag"
    assert message.startswith("runbook bad.unknown, step 'tag':")
    assert "unknown parameter {verison}" in message
    assert "known parameters: version" in message
    assert "Add it to Params or fix the name" in message


def test_unknown_param_in_manual_instructions() -> None:
    error = raises(lambda: define("manual", Version, read=ob.Manual("Read {notes}")))
    assert error.step == "read" and "{notes}" in str(error)


def test_placeholder_inside_quotes() -> None:
    error = raises(lambda: define("quoted", Version, tag=ob.Command("echo '{version}'")))
    assert error.step == "tag"
    assert "remove the quotes around the placeholder" in str(error)


def test_undo_naming_no_step() -> None:
    error = raises(lambda: define("undo", tag=ob.Command("git tag v1", undo="untag")))
    assert error.runbook == "bad.undo" and error.step == "tag"
    assert "undo='untag' names no step" in str(error)
    assert "define a step with that attribute name" in str(error)


def test_branch_to_missing_step() -> None:
    error = raises(
        lambda: define(
            "branch",
            pick=ob.Gate.choose("Which?", ["a", "b"]),
            route=ob.Branch(on="pick", routes={"a": "step_a", "b": "nowhere"}),
            step_a=ob.Command("true"),
        )
    )
    assert error.runbook == "bad.branch" and error.step == "route"
    assert "branch target 'nowhere' is not a step" in str(error)
    assert "route to one of: step_a" in str(error)


def test_branch_backwards() -> None:
    error = raises(
        lambda: define(
            "back",
            first=ob.Command("true"),
            pick=ob.Gate.choose("Which?", ["a"]),
            route=ob.Branch(on="pick", routes={"a": "first"}),
        )
    )
    assert error.step == "route" and "branches only jump forward" in str(error)


def test_branch_on_unknown_name() -> None:
    error = raises(
        lambda: define(
            "on",
            route=ob.Branch(on="colour", routes={"red": "after"}),
            after=ob.Command("true"),
        )
    )
    assert error.step == "route"
    assert "neither a parameter nor a gate" in str(error)


@pytest.mark.parametrize(
    ("missing", "shown"),
    [
        ("scope", "scope"),
        ("owner", "owner"),
        ("last_reviewed", "last_reviewed"),
        ("__doc__", "purpose (the class docstring)"),
    ],
)
def test_missing_required_doc_section(missing: str, shown: str) -> None:
    error = raises(
        lambda: define("docs", **{missing: "" if missing != "__doc__" else None}, s=ob.Manual("x"))
    )
    message = str(error)
    assert error.runbook == "bad.docs" and error.step is None
    assert f"missing required doc section(s): {shown}" in message
    assert "Set them as class attributes" in message


def test_last_reviewed_not_a_date() -> None:
    error = raises(lambda: define("date", last_reviewed="last week", s=ob.Manual("x")))
    assert "is not a date; write 'YYYY-MM-DD'" in str(error)


def test_no_steps() -> None:
    error = raises(lambda: define("empty"))
    assert "has no steps; declare at least one step attribute" in str(error)


def test_when_refers_to_unknown_name() -> None:
    error = raises(lambda: define("when", s=ob.Manual("x", when="colour == red")))
    assert error.step == "s" and "neither a parameter nor a gate" in str(error)


def test_gate_default_on_timeout_needs_default() -> None:
    error = raises(
        lambda: define("gate", g=ob.Gate.confirm("Go?", gate_timeout="5m", on_timeout="default"))
    )
    assert error.step == "g" and "needs a default answer" in str(error)


def test_remote_with_bad_failure_limit() -> None:
    error = raises(lambda: define("remote", r=ob.Remote("uptime", role="web", max_failures="half")))
    assert error.step == "r" and "give a count or a percentage like '25%'" in str(error)


def test_definition_error_is_bad_input_with_exit_code_2() -> None:
    error = raises(lambda: define("empty"))
    assert isinstance(error, BadInput) and error.exit_code == 2


def test_abstract_base_is_not_validated() -> None:
    class Base(ob.Runbook, abstract=True):
        pass

    assert Base.abstract


def test_step_id_may_not_hide_a_runbook_attribute() -> None:
    with pytest.raises(DefinitionError, match="hides the runbook attribute") as caught:

        class Hiding(ob.Runbook):
            """Name a step like a doc section."""

            name = "tests.hiding"
            scope = "tests"
            owner = "me"
            last_reviewed = "2026-11-01"
            severity = ob.Gate.choose("How bad?", ["SEV1", "SEV2"])

    assert caught.value.step == "severity"


def test_params_errors_read_like_sentences() -> None:
    """A cross-field check names no flag and no pydantic wrapper; a bad pattern says why."""
    from typing import Self

    from pydantic import model_validator

    from opsbooks.define.params import validate_params
    from opsbooks.errors import ParamsError

    class Release(ob.Params):
        version: str = ob.Field(pattern=r"^\d+\.\d+\.\d+$", description="e.g. 1.4.0")
        host: str = ""
        path: str = ""

        @model_validator(mode="after")
        def _together(self) -> Self:
            if bool(self.host) != bool(self.path):
                raise ValueError("host and path go together")
            return self

    with pytest.raises(ParamsError) as caught:
        validate_params("x.release", Release, {"version": "1.2", "host": "web"})
    text = str(caught.value)
    assert "--version: must match ^\\d+\\.\\d+\\.\\d+$, got '1.2'; expected: e.g. 1.4.0" in text
    with pytest.raises(ParamsError) as caught:
        validate_params("x.release", Release, {"version": "1.2.0", "host": "web"})
    text = str(caught.value)
    assert "  host and path go together" in text
    assert "--params" not in text and "Value error" not in text
