"""A ``Notify`` step whose channel is not in ``[notify]`` is found before any step runs:
the run exits 2 with one paragraph naming the step, the channel and the toml to add
(also for the steps of an included runbook); ``default`` is always configured, a step
the run leaves out is not counted, and a dry run only warns."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.config import load_config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.requests import Invocation, Surroundings
from opsbooks.edges.session import start_run
from opsbooks.errors import EXIT_BAD_INPUT
from opsbooks.run.options import RunOptions
from opsbooks.testing import Drill


class Pages(ob.Runbook):
    """Writes a marker, then pages the on-call through the `page` channel."""

    name = "test.pages"
    scope = "preflight tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    @ob.step()
    def mark(self, ctx: ob.StepContext) -> None:
        (ctx.workdir / "ran.txt").write_text("ran")

    tell = ob.Notify("starting {runbook}")  # the default channel
    page = ob.Notify("the on-call is paged", channel="page")


class Outer(ob.Runbook):
    """Includes the paging runbook, and chats on its own channel."""

    name = "test.outer"
    scope = "preflight tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    chat = ob.Notify("working on it", channel="chat")
    inner = ob.Include(Pages)


def test_an_unconfigured_channel_refuses_the_run_before_any_step(drill: Drill) -> None:
    drill.runbooks = (Pages,)
    with pytest.raises(ob.ConfigError) as caught:
        drill.run(Pages)
    message = str(caught.value)
    assert caught.value.exit_code == EXIT_BAD_INPUT == 2
    assert "\n" not in message  # one paragraph
    assert "step 'page' sends to 'page'" in message
    assert "(configured: default)" in message
    assert "[notify.page] in opsbooks.toml" in message
    assert 'type = "stdout"' in message and 'type = "webhook"' in message
    assert message.endswith("Nothing has run.")
    assert not (drill.root / "ran.txt").exists()
    assert drill.journal().runs() == []


def test_included_steps_are_checked_and_every_missing_channel_named(drill: Drill) -> None:
    drill.runbooks = (Outer, Pages)
    with pytest.raises(ob.ConfigError) as caught:
        drill.run(Outer)
    message = str(caught.value)
    assert "step 'chat' sends to 'chat'; step 'inner.page' sends to 'page'" in message
    assert not (drill.root / "ran.txt").exists()


def test_a_configured_channel_runs_and_default_is_always_configured(drill: Drill) -> None:
    drill.runbooks = (Pages,)
    pages = drill.root / "pages.log"
    drill.settings = {"notify": {"page": {"type": "file", "path": str(pages)}}}  # no default
    result = drill.run(Pages)
    result.assert_succeeded()
    assert "starting test.pages" in result.output  # default: stdout, though not written
    assert "the on-call is paged" in pages.read_text()


def test_a_step_the_run_leaves_out_is_not_counted(drill: Drill) -> None:
    drill.runbooks = (Pages,)
    result = drill.run(Pages, skip=["page"])
    result.assert_succeeded()
    result.assert_skipped("page")


def _start(root: Path, *, dry_run: bool) -> str:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "drill"},
        interactive=False,
        install_signal_handlers=False,
    )
    options = RunOptions(dry_run=dry_run)
    start_run(
        Invocation(Pages.name, {}, options), load_config(root), surroundings, Catalog([Pages])
    )
    return out.getvalue()


def test_a_dry_run_warns_instead_and_runs_nothing(tmp_path: Path) -> None:
    (tmp_path / "opsbooks.toml").write_text('[notify.default]\ntype = "stdout"\n')
    shown = _start(tmp_path, dry_run=True)
    assert "note: test.pages: notify channel(s) not configured: step 'page'" in shown
    assert "[notify.page] in opsbooks.toml" in shown
    assert "A real run refuses to start until they are." in shown
    assert not (tmp_path / "ran.txt").exists()


def test_the_advice_spells_the_table_as_pyproject_does(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.opsbooks.notify.default]\ntype = "stdout"\n')
    with pytest.raises(ob.ConfigError) as caught:
        _start(tmp_path, dry_run=False)
    assert "[tool.opsbooks.notify.page] in pyproject.toml" in str(caught.value)
    assert not (tmp_path / "ran.txt").exists()
