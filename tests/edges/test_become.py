"""Where a run's sudo password comes from (fast tier): the environment, else asked at a
terminal when the project says so, else none (``sudo -n``); never without a terminal."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.become import executor_factory, sudo_password
from opsbooks.edges.config import Config
from opsbooks.edges.requests import Surroundings
from opsbooks.errors import BadInput
from opsbooks.records.redaction import Redactor


class Becomes(ob.Runbook):
    """Restart as root."""

    name = "unit.becomes"
    scope = "x"
    owner = "me"
    last_reviewed = "2026-11-01"

    restart = ob.Remote("systemctl restart app", role="web", become="root")


PLAN = ob.plan(Becomes, Becomes.Params())


def _around(environ: dict[str, str]) -> Surroundings:
    return Surroundings(
        stdin=io.StringIO(), stdout=io.StringIO(), environ=environ, interactive=False
    )


def test_the_password_comes_from_the_environment_and_is_masked(tmp_path: Path) -> None:
    config = Config(root=tmp_path)
    around = _around({"OPSBOOKS_SUDO_PASSWORD": "pw-9"})
    assert sudo_password(PLAN, config, around) == "pw-9"
    redactor = Redactor([])
    assert executor_factory(PLAN, config, around, redactor) is not None
    assert "pw-9" not in redactor.text("the password pw-9")


def test_without_one_sudo_must_not_ask(tmp_path: Path) -> None:
    assert sudo_password(PLAN, Config(root=tmp_path), _around({})) is None


def test_asking_needs_a_terminal(tmp_path: Path) -> None:
    config = Config(root=tmp_path, ssh={"sudo_password": "ask"})
    with pytest.raises(BadInput, match="no terminal to ask at; set OPSBOOKS_SUDO_PASSWORD"):
        sudo_password(PLAN, config, _around({}))
