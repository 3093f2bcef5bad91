"""The host-step checks still run at class definition now that they are imported lazily.

``define.checks`` asks ``is_remote`` of each step and imports ``define.remote`` and
``define.checks_remote`` only for a runbook with a host step (issue 18, row 1), so a
mistake in one still fails when the class is defined, as before.
"""

from __future__ import annotations

from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define.base import is_remote
from opsbooks.errors import DefinitionError


def _define(**steps: Any) -> type[ob.Runbook]:
    attrs: dict[str, Any] = {
        "__doc__": "Host steps.",
        "scope": "tests",
        "owner": "sre",
        "last_reviewed": "2026-12-01",
        **steps,
    }
    return type("Hosts", (ob.Runbook,), attrs)


def test_is_remote_names_every_host_kind_and_no_local_one() -> None:
    host_steps = [
        ob.Remote("true", role="web"),
        ob.Upload(local="a", remote="/a", role="web"),
        ob.Download(remote="/a", local="{host.name}.a", role="web"),
        ob.RemoteVerify("true", role="web"),
        ob.RemoteWait("true", role="web"),
    ]
    assert all(is_remote(step) for step in host_steps)
    assert not any(is_remote(step) for step in (ob.Command("true"), ob.Manual("Look.")))


def test_a_download_to_one_local_file_is_refused_at_definition() -> None:
    with pytest.raises(DefinitionError, match="names one file for every host"):
        _define(fetch=ob.Download(remote="/var/log/app.log", local="app.log", role="web"))


def test_a_remote_context_mistake_is_refused_at_definition() -> None:
    with pytest.raises(DefinitionError, match="is not an octal mask"):
        _define(go=ob.Remote("true", role="web", umask="999"))


def test_a_local_step_binding_a_per_host_output_is_refused() -> None:
    with pytest.raises(DefinitionError, match="one value per host"):
        _define(
            probe=ob.Remote("echo ::output n=1", role="web", outputs=("n",)),
            use=ob.Command("echo {outputs.n}"),
        )
