"""Any parameter value bound into a command reaches a real shell as exactly one argument."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import opsbooks as ob
from opsbooks.errors import ParamsError

# Print the argument count, then each argument behind a NUL, so we can split exactly.
REPORT = "printf '%s' \"$#\"; printf '\\0%s' \"$@\""


class Echo(ob.Runbook):
    """Hand one value to the shell in each of the ways a command can carry it."""

    name = "tests.echo"
    scope = "tests"
    owner = "me"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        value: str

    shell = ob.Command("set -- {value}; " + REPORT)
    joined = ob.Command("set -- prefix-{value}-suffix; " + REPORT)
    argv = ob.Command(["sh", "-c", REPORT, "sh", "{value}"])


def argv_seen_by_shell(step_id: str, value: str) -> list[bytes]:
    command = ob.plan(Echo, Echo.Params(value=value)).get(step_id).command
    assert command is not None
    out = subprocess.run(["sh", "-c", command], capture_output=True, check=True).stdout
    count, *args = out.split(b"\0")
    assert int(count) == len(args)
    return args


values = st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(value=values)
def test_shell_string_value_is_one_argument(value: str) -> None:
    assert argv_seen_by_shell("shell", value) == [value.encode()]


@pytest.mark.slow
@settings(max_examples=75, deadline=None)
@given(value=values)
def test_value_inside_a_word_stays_inside_it(value: str) -> None:
    assert argv_seen_by_shell("joined", value) == [f"prefix-{value}-suffix".encode()]


@pytest.mark.slow
@settings(max_examples=75, deadline=None)
@given(value=values)
def test_argv_list_value_is_one_argument(value: str) -> None:
    assert argv_seen_by_shell("argv", value) == [value.encode()]


@pytest.mark.slow
@pytest.mark.parametrize("value", ["", " ", "a b", "$(id)", "'", '"', "\\", "\n", "-n", "*"])
def test_awkward_values_are_one_argument(value: str) -> None:
    assert argv_seen_by_shell("shell", value) == [value.encode()]


def test_nul_is_rejected_with_a_clear_error() -> None:
    with pytest.raises(ParamsError, match="NUL byte, which no shell can pass"):
        ob.plan(Echo, Echo.Params(value="a\x00b"))


def test_nul_is_rejected_in_an_argv_command() -> None:
    class ArgvOnly(ob.Runbook):
        """Carry a value only as an argv element."""

        name = "tests.argv_only"
        scope = "tests"
        owner = "me"
        last_reviewed = "2026-11-01"

        class Params(ob.Params):
            value: str

        argv = ob.Command(["printf", "%s", "{value}"])

    with pytest.raises(ParamsError, match="NUL byte"):
        ob.plan(ArgvOnly, ArgvOnly.Params(value="a\x00b"))
