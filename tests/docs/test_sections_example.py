"""The guide's "Sections and Include" example runs as written and means what it says."""

from __future__ import annotations

import sys
import types

import pytest
from test_docs_examples import DOCS, code_blocks

import opsbooks as ob

GUIDE = DOCS / "guides" / "writing-runbooks.md"


def modules_after(heading: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, types.ModuleType]:
    """Each python block under ``heading`` whose first line names its file, imported as
    that module (``runbooks/web/maintain.py`` -> ``runbooks.web.maintain``), in order,
    so a later block's ``from runbooks.web.restart_app import ...`` finds the earlier."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index(heading) :].split("\n## ", 1)[0]
    out: dict[str, types.ModuleType] = {}
    for source in code_blocks(section, "python"):
        first = source.splitlines()[0]
        if not (first.startswith('"""runbooks/') and first.endswith('.py"""')):
            break
        name = first.strip('"').removesuffix(".py").replace("/", ".")
        module = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, module)
        exec(compile(source, str(GUIDE), "exec"), module.__dict__)
        out[name] = module
    return out


def test_the_sections_example_defines_what_the_guide_describes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    modules = modules_after("## Sections and Include", monkeypatch)
    assert list(modules) == ["runbooks.web.restart_app", "runbooks.web.maintain"]
    maintain = modules["runbooks.web.maintain"].Maintain
    assert maintain.name == "web.maintain"
    assert modules["runbooks.web.restart_app"].RestartApp.name == "web.restart_app"
    assert isinstance(maintain, type) and issubclass(maintain, ob.Runbook)
    bound = ob.plan(maintain, maintain.Params())
    assert bound.ids() == [
        "announce",
        "drain.approve",
        "drain.take_out",
        "restart.stop",
        "restart.check",
        "finish",
    ]
    assert bound.get("drain.take_out").undo == "drain.put_back"
    assert bound.get("restart.stop").command == "app stop web1.internal"
    assert [s.title for s in bound.sections] == ["Drain the host", "Restart App"]


def test_the_linked_runs_example_is_two_modules_with_two_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    modules = modules_after("## Linked runs", monkeypatch)
    assert list(modules) == ["runbooks.db.migrate", "runbooks.web.release"]
    release = modules["runbooks.web.release"].Release
    assert (release.name, modules["runbooks.db.migrate"].Migrate.name) == (
        "web.release",
        "db.migrate",
    )
    bound = ob.plan(release, release.Params())
    assert bound.ids() == ["migrate", "deploy"]
