import subprocess

import pytest

import opsbooks as ob


class Demo(ob.Runbook):
    """Demo."""

    name = "demo.thing"
    scope = "x"
    owner = "me"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        msg: str

    say = ob.Command("printf %s {msg}")


@pytest.mark.slow
@pytest.mark.parametrize("value", ["a b", "$(id)", "'q'", "`x`;y"])
def test_value_is_one_argument(value):
    cmd = ob.plan(Demo, Demo.Params(msg=value)).steps[0].command
    out = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True).stdout
    assert out == value


def test_unknown_param_is_definition_error():
    with pytest.raises(ob.DefinitionError):

        class Bad(ob.Runbook):
            """Bad."""

            scope = "x"
            owner = "me"
            last_reviewed = "2026-11-01"
            s = ob.Command("echo {nope}")
