"""The remote example of docs/guides/writing-runbooks.md defines a runbook that plans."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import opsbooks as ob

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "writing-runbooks.md"


def test_the_steps_on_hosts_example_plans_with_its_targets_bound() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("### Steps on hosts: targets, context, per-host outputs and checks")
    match = re.search(r"^```python\n(.*?)^```", text[start:], re.M | re.S)
    assert match
    module = types.ModuleType("guide_remote")  # pydantic resolves `ob.` through it
    sys.modules[module.__name__] = module
    try:
        exec(compile(match.group(1), str(GUIDE), "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    book: Any = module.RollApp
    bound = ob.plan(book, book.Params(servers="web1,web2", token=ob.SecretStr("t")))
    assert [p.kind for p in bound.steps] == [
        "remote",
        "remote",
        "remote_verify",
        "remote_wait",
        "python",
    ]
    deploy = bound.get("deploy").spec
    assert (deploy.hosts, deploy.cwd, deploy.become, deploy.pause_seconds) == (
        "web1,web2",
        "/srv/app",
        "app",
        30.0,
    )
    assert bound.get("current").spec.outputs == ("version",)
