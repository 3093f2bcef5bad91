"""An included runbook keeps its step hooks (around its own steps) and its prepare hook.

In-process with ``FakeBackend`` and a real SQLite journal in a temp dir, as in
``test_hooks``: the journal and the hook calls are the record under test.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.errors import BadInput
from opsbooks.records.journal import open_journal
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend

CALLS: list[str] = []
PREPARED: list[tuple[str, str]] = []
CHOICE: dict[str, Path | None] = {}


class Restart(ob.Runbook):
    """Restart one app; its hook skips what its own param says."""

    name = "unit.restart_child"
    scope, owner, last_reviewed = "hook unit tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        app: str = "web"
        skip_tag: str = ""

    stop = ob.Command("systemctl stop {app}", tags=("stop",))
    start = ob.Command("systemctl start {app}")

    def before_step(self, ctx: ob.StepContext, step: ob.StepView) -> ob.Skip | None:
        CALLS.append(f"child before {step.id} app={self.params.app}")
        if self.params.skip_tag and self.params.skip_tag in step.tags:
            return ob.Skip(f"{self.params.skip_tag} is skipped by the child")
        return None

    def after_step(self, ctx: ob.StepContext, step: ob.StepView, result: ob.StepOutcome) -> None:
        CALLS.append(f"child after {step.id}")

    @classmethod
    def prepare_project(cls, project: ob.Project) -> Path | None:
        PREPARED.append((cls.name, project.mode))
        return CHOICE.get(cls.name)


class Fleet(ob.Runbook):
    """Announce, then restart the shop through the included runbook."""

    name = "unit.fleet_parent"
    scope, owner, last_reviewed = "hook unit tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        skip_tag: str = ""

    announce = ob.Command("announce restart")
    shop = ob.Include(Restart, params={"app": "shop", "skip_tag": "{skip_tag}"})

    def before_step(self, ctx: ob.StepContext, step: ob.StepView) -> None:
        CALLS.append(f"parent before {step.id}")

    @classmethod
    def prepare_project(cls, project: ob.Project) -> Path | None:
        PREPARED.append((cls.name, project.mode))
        return CHOICE.get(cls.name)


@pytest.fixture(autouse=True)
def _clean() -> None:
    CALLS.clear()
    PREPARED.clear()
    CHOICE.clear()


def _run(
    root: Path, params: dict[str, Any] | None = None, **options: Any
) -> tuple[RunReport | None, str]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=FakeBackend(),
        install_signal_handlers=False,
    )
    report = start_run(
        Invocation(runbook=Fleet.name, params=params or {}, options=RunOptions(**options)),
        Config(root=root),
        surroundings,
        Catalog([Fleet]),
    )
    return report, out.getvalue()


def test_the_included_runbooks_hooks_run_inside_the_parents_around_its_steps_only(
    tmp_path: Path,
) -> None:
    report, _ = _run(tmp_path)
    assert report is not None and report.outcome.value == "succeeded"
    assert CALLS == [
        "parent before announce",
        "parent before shop.stop",
        "child before shop.stop app=shop",  # the child's own params, bound from the parent
        "child after shop.stop",
        "parent before shop.start",
        "child before shop.start app=shop",
        "child after shop.start",
    ]


def test_a_skip_by_the_included_runbooks_hook_is_journaled_with_its_name(tmp_path: Path) -> None:
    report, _ = _run(tmp_path, {"skip_tag": "stop"})
    assert report is not None
    journal = open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}")
    try:
        rows = [
            (t.step_id, t.status.value, t.reason or "") for t in journal.transitions(report.run_id)
        ]
    finally:
        journal.close()
    assert (
        "shop.stop",
        "skipped",
        "stop is skipped by the child (hook unit.restart_child.Restart)",
    ) in rows
    assert ("shop.start", "succeeded", "") in rows


def test_the_dry_run_names_the_included_hook_and_its_section(tmp_path: Path) -> None:
    _, out = _run(tmp_path, dry_run=True)
    assert "unit.fleet_parent.Fleet (before_step)" in out
    assert "unit.restart_child.Restart (after_step, before_step, section shop only)" in out


def test_the_included_runbooks_prepare_project_is_called_once_after_the_parents(
    tmp_path: Path,
) -> None:
    _run(tmp_path, dry_run=True)
    assert PREPARED == [("unit.fleet_parent", "dry-run"), ("unit.restart_child", "dry-run")]


def test_an_included_runbook_may_choose_the_configuration_when_the_parent_does_not(
    tmp_path: Path,
) -> None:
    chosen = tmp_path / "sandbox"
    chosen.mkdir()
    (chosen / "opsbooks.toml").write_text('journal = "sqlite:///sandbox.db"\n')
    CHOICE[Restart.name] = chosen
    report, _ = _run(tmp_path)
    assert report is not None and report.outcome.value == "succeeded"
    assert (chosen / "sandbox.db").is_file()  # the run used the child's configuration


def test_two_different_configurations_chosen_in_one_run_are_bad_input(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "opsbooks.toml").write_text("")
    CHOICE[Fleet.name] = tmp_path / "one"
    CHOICE[Restart.name] = tmp_path / "two"
    with pytest.raises(BadInput, match=r"one run has one configuration") as caught:
        _run(tmp_path)
    assert "unit.restart_child" in str(caught.value) and "section shop" in str(caught.value)
    assert not (tmp_path / ".opsbooks" / "journal.db").exists()  # nothing ran
