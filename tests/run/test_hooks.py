"""Step hooks against fakes: order, timing, skips, errors, plugins, and resume.

In-process with ``FakeBackend`` and a real SQLite journal in a temp dir (the journal is
the record under test); plugin modules are written to a temp folder on ``sys.path``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import textwrap
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.errors import ConfigError, DefinitionError
from opsbooks.records.journal import open_journal
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend

CALLS: list[str] = []


class Hooked(ob.Runbook):
    """Build, restart, announce, with hooks that log and skip by tag."""

    name = "unit.hooked"
    scope = "hook unit tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(ob.Params):
        skip_tag: str = ""

    build = ob.Command("make build", undo=ob.Command("make clean"))
    restart = ob.Command("systemctl restart app", tags=("restart",))
    announce = ob.Command("announce done")

    def before_step(self, ctx: ob.StepContext, step: ob.StepView) -> ob.Skip | None:
        CALLS.append(f"before {step.id}")
        if self.params.skip_tag and self.params.skip_tag in step.tags:
            return ob.Skip(f"tag {self.params.skip_tag} is skipped")
        return None

    def after_step(self, ctx: ob.StepContext, step: ob.StepView, result: ob.StepOutcome) -> None:
        CALLS.append(f"after {step.id} {result.status}")


def _run(
    root: Path,
    backend: FakeBackend,
    *,
    book: type[ob.Runbook] = Hooked,
    params: dict[str, Any] | None = None,
    hooks: list[str] | None = None,
    **options: Any,
) -> tuple[RunReport, str]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
    )
    report = start_run(
        Invocation(runbook=book.name, params=params or {}, options=RunOptions(**options)),
        Config(root=root, hooks=hooks or []),
        surroundings,
        Catalog([book]),
    )
    assert report is not None
    return report, out.getvalue()


def _journal(root: Path, run_id: str) -> list[tuple[str, str, str]]:
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        return [(t.step_id, t.status.value, t.reason or "") for t in journal.transitions(run_id)]
    finally:
        journal.close()


@pytest.fixture(autouse=True)
def _clean() -> None:
    CALLS.clear()


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Write a plugin module; return its import name."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))

    def write(body: str) -> str:
        name = f"hookmod_{uuid.uuid4().hex[:10]}"
        (folder / f"{name}.py").write_text(textwrap.dedent(body))
        return name

    return write


def test_runbook_hooks_run_before_and_after_each_step_in_order(tmp_path: Path) -> None:
    report, _ = _run(tmp_path, FakeBackend())
    assert report.outcome.value == "succeeded"
    assert CALLS == [
        "before build",
        "after build succeeded",
        "before restart",
        "after restart succeeded",
        "before announce",
        "after announce succeeded",
    ]


def test_a_skip_by_tag_is_journaled_with_its_reason_and_the_command_never_runs(
    tmp_path: Path,
) -> None:
    backend = FakeBackend()
    report, console = _run(tmp_path, backend, params={"skip_tag": "restart"})
    assert report.outcome.value == "succeeded"
    assert [c for c, _ in backend.calls] == ["make build", "announce done"]
    reason = "tag restart is skipped (hook unit.hooked.Hooked)"
    assert ("restart", "skipped", reason) in _journal(tmp_path, report.run_id)
    assert reason in console
    assert "after restart skipped" in CALLS


def test_a_failed_step_reaches_after_step_as_failed_and_still_rolls_back(tmp_path: Path) -> None:
    backend = FakeBackend(answers={"systemctl": (3, "no unit\n")})
    report, _ = _run(tmp_path, backend)
    assert report.outcome.value == "rolled_back" and report.failed_step == "restart"
    assert "after restart failed" in CALLS
    assert [c for c, _ in backend.calls][-1] == "make clean"
    assert not any("make clean" in c for c in CALLS)  # undo steps run without hooks


def test_a_plugin_around_hook_times_every_step_and_sees_a_read_only_view(
    tmp_path: Path, plugins: Callable[[str], str]
) -> None:
    module = plugins(
        """
        import dataclasses
        SEEN = []

        class Timing:
            def around_step(self, ctx, step, proceed):
                try:
                    dataclasses.replace(step, command="rm -rf /")  # a copy, never the step
                    step.command = "rm -rf /"
                except dataclasses.FrozenInstanceError:
                    pass
                result = proceed()
                SEEN.append((step.id, step.kind, step.tags, step.command, result.status))
                return result
        """
    )
    backend = FakeBackend()
    report, _ = _run(tmp_path, backend, hooks=[f"{module}:Timing"])
    assert report.outcome.value == "succeeded"
    assert [c for c, _ in backend.calls] == ["make build", "systemctl restart app", "announce done"]
    seen = __import__(module).SEEN
    assert seen[1] == ("restart", "command", ("restart",), "systemctl restart app", "succeeded")
    # plugins are outermost: the runbook's own hooks run inside the plugin's around_step
    assert CALLS[:2] == ["before build", "after build succeeded"]


def test_a_hook_that_raises_before_the_step_fails_it_unrun_naming_the_hook(
    tmp_path: Path, plugins: Callable[[str], str]
) -> None:
    module = plugins(
        """
        class Picky:
            def before_step(self, ctx, step):
                if step.id == "restart":
                    raise RuntimeError("no restarts on Fridays")
        """
    )
    backend = FakeBackend()
    report, console = _run(tmp_path, backend, hooks=[f"{module}:Picky"])
    assert report.outcome.value == "rolled_back" and report.failed_step == "restart"
    assert "systemctl restart app" not in [c for c, _ in backend.calls]
    why = f"hook {module}:Picky.before_step raised RuntimeError: no restarts on Fridays"
    assert why in report.reason and "so it was not run" in report.reason
    assert ("restart", "failed", report.reason) in _journal(tmp_path, report.run_id)
    assert why in console and "Traceback" not in console


def test_a_hook_failure_is_resumable_once_the_hook_is_fixed(
    tmp_path: Path, plugins: Callable[[str], str]
) -> None:
    module = plugins(
        """
        import os
        class Flaky:
            def before_step(self, ctx, step):
                if step.id == "announce" and not os.environ.get("HOOK_FIXED"):
                    raise ValueError("not yet")
        """
    )
    backend = FakeBackend()
    config = Config(root=tmp_path, hooks=[f"{module}:Flaky"])
    first, _ = _run(tmp_path, backend, hooks=config.hooks, no_rollback=True)
    assert first.outcome.value == "failed" and first.failed_step == "announce"
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOOK_FIXED", "1")
        resumed = resume_run(
            ResumeRequest(first.run_id, RunOptions()), config, surroundings, Catalog([Hooked])
        )
    assert resumed.outcome.value == "succeeded"
    assert [c for c, _ in backend.calls].count("make build") == 1  # never twice
    assert [c for c, _ in backend.calls][-1] == "announce done"


def test_an_around_hook_may_skip_and_must_otherwise_call_proceed(
    tmp_path: Path, plugins: Callable[[str], str]
) -> None:
    module = plugins(
        """
        import opsbooks as ob
        class Gatekeeper:
            def around_step(self, ctx, step, proceed):
                if step.id == "build":
                    return ob.Skip("built already")
                if step.id == "announce":
                    return None  # forgot proceed()
                return proceed()
        """
    )
    backend = FakeBackend()
    report, _ = _run(tmp_path, backend, hooks=[f"{module}:Gatekeeper"])
    assert [c for c, _ in backend.calls] == ["systemctl restart app"]
    assert report.failed_step == "announce"
    assert "neither called proceed() nor returned ob.Skip(reason)" in report.reason
    rows = _journal(tmp_path, report.run_id)
    assert ("build", "skipped", f"built already (hook {module}:Gatekeeper)") in rows


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("class H:\n    def before_step(self, ctx):\n        pass\n", "has the wrong parameters"),
        ("class H:\n    pass\n", "defines none of before_step, after_step, around_step"),
        ("class H:\n    def __init__(self, x):\n        pass\n", "created with no arguments"),
        ("raise ImportError('broken')\n", "does not import"),
    ],
)
def test_a_bad_plugin_is_a_config_error_before_any_step(
    tmp_path: Path, plugins: Callable[[str], str], body: str, said: str
) -> None:
    module = plugins(body)
    backend = FakeBackend()
    with pytest.raises(ConfigError, match=re.escape(said)) as caught:
        _run(tmp_path, backend, hooks=[f"{module}:H"])
    assert caught.value.exit_code == 2 and f"{module}:H" in str(caught.value)
    assert backend.calls == []


def test_a_plugin_name_without_a_colon_says_how_to_write_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not 'package\.module:Name'"):
        _run(tmp_path, FakeBackend(), hooks=["mypkg.hooks.Timing"])


def test_the_dry_run_lists_the_hooks(tmp_path: Path, plugins: Callable[[str], str]) -> None:
    module = plugins("class T:\n    def after_step(self, ctx, step, result):\n        pass\n")
    out = io.StringIO()
    surroundings = Surroundings(stdout=out, interactive=False, install_signal_handlers=False)
    report = start_run(
        Invocation(runbook=Hooked.name, options=RunOptions(dry_run=True)),
        Config(root=tmp_path, hooks=[f"{module}:T"]),
        surroundings,
        Catalog([Hooked]),
    )
    assert report is None
    assert (
        f"Hooks around each step (outermost first; not around undo steps): {module}:T "
        f"(after_step), unit.hooked.Hooked (after_step, before_step)" in out.getvalue()
    )


def test_a_runbook_without_hooks_has_none_in_its_plan() -> None:
    class Plain(ob.Runbook):
        """Nothing to hook."""

        name = "unit.plain"
        scope = "tests"
        owner = "sre"
        last_reviewed = "2026-11-01"
        only = ob.Command("true")

    assert ob.plan(Plain, Plain.Params()).hooks == ()
    assert len(ob.plan(Hooked, Hooked.Params()).hooks) == 1
    assert ob.plan(Hooked).hooks == ()  # planned for docs: no instance, no hooks


@pytest.mark.parametrize(
    ("method", "said"),
    [
        ("def before_step(self, ctx):\n        pass", "hook before_step(self, ctx) has the wrong"),
        (
            "def after_step(self, ctx, step):\n        pass",
            "def after_step(self, ctx, step, result)",
        ),
        ("async def around_step(self, ctx, step, proceed):\n        pass", "around_step is async"),
        ("@staticmethod\n    def before_step(ctx, step):\n        pass", "is a staticmethod"),
        ("before_step = 3", "before_step is not a method"),
    ],
)
def test_a_runbook_hook_with_a_wrong_signature_is_a_definition_error(
    method: str, said: str
) -> None:
    source = textwrap.dedent(
        """
        class Bad(ob.Runbook):
            '''A wrong hook.'''

            name = "unit.bad_hook"
            scope = "tests"
            owner = "sre"
            last_reviewed = "2026-11-01"
            only = ob.Command("true")

            METHOD
        """
    ).replace("METHOD", method)
    with pytest.raises(DefinitionError, match=re.escape(said)) as caught:
        exec(source, {"ob": ob})
    assert "runbook unit.bad_hook" in str(caught.value)


def test_entry_point_plugins_load_after_config_ones_and_once_each(
    tmp_path: Path, plugins: Callable[[str], str]
) -> None:
    from importlib.metadata import EntryPoint

    from opsbooks.edges.hooks import load_hooks

    first = plugins("class A:\n    def before_step(self, ctx, step):\n        pass\n")
    second = plugins("class B:\n    def after_step(self, ctx, step, result):\n        pass\n")
    points = [
        EntryPoint(name="b", value=f"{second}:B", group="opsbooks.hooks"),
        EntryPoint(name="a", value=f"{first}:A", group="opsbooks.hooks"),  # also in config
    ]
    config = Config(root=tmp_path, hooks=[f"{first}:A"])
    hooks = load_hooks(config, ob.plan(Hooked, Hooked.Params()), entry_points=lambda: points)
    assert hooks.names() == [f"{first}:A", f"{second}:B", "unit.hooked.Hooked"]
    broken = [EntryPoint(name="gone", value="no_such_module_x:H", group="opsbooks.hooks")]
    with pytest.raises(ConfigError, match="hook entry point 'gone'"):
        load_hooks(config, ob.plan(Hooked, Hooked.Params()), entry_points=lambda: broken)


def test_an_after_hook_that_raises_fails_the_run_after_the_step_succeeded(
    tmp_path: Path, plugins: Callable[[str], str]
) -> None:
    module = plugins(
        """
        class Reporter:
            def after_step(self, ctx, step, result):
                if step.id == "restart":
                    raise OSError("ticket system down")
        """
    )
    backend = FakeBackend()
    report, _ = _run(tmp_path, backend, hooks=[f"{module}:Reporter"])
    assert report.failed_step == "restart" and report.outcome.value == "rolled_back"
    assert "Reporter.after_step raised OSError: ticket system down" in report.reason
    assert "after it ran" in report.reason
    rows = _journal(tmp_path, report.run_id)
    assert ("restart", "succeeded", "") in rows  # it did run; its record says so
    assert [c for c, _ in backend.calls] == ["make build", "systemctl restart app", "make clean"]


def test_a_gate_stop_inside_proceed_still_stops_the_run_if_a_hook_swallows_it(
    tmp_path: Path, plugins: Callable[[str], str]
) -> None:
    module = plugins(
        """
        class Swallow:
            def around_step(self, ctx, step, proceed):
                try:
                    return proceed()
                except Exception:
                    return None
        """
    )

    class Gated(ob.Runbook):
        """A gate nobody answers."""

        name = "unit.gated_hook"
        scope = "tests"
        owner = "sre"
        last_reviewed = "2026-11-01"
        approve = ob.Gate.confirm("Go?")
        after = ob.Command("after")

    backend = FakeBackend()
    report, _ = _run(tmp_path, backend, book=Gated, hooks=[f"{module}:Swallow"])
    assert report.outcome.value == "stopped" and report.exit_code == 3
    assert backend.calls == []


def test_a_step_a_hook_skipped_stays_skipped_on_resume(tmp_path: Path) -> None:
    backend = FakeBackend(answers={"announce": (1, "")})
    first, _ = _run(tmp_path, backend, params={"skip_tag": "restart"}, no_rollback=True)
    assert first.failed_step == "announce"
    again = FakeBackend()
    surroundings = Surroundings(
        stdout=io.StringIO(), interactive=False, backend=again, install_signal_handlers=False
    )
    resumed = resume_run(
        ResumeRequest(first.run_id, RunOptions()),
        Config(root=tmp_path),
        surroundings,
        Catalog([Hooked]),
    )
    assert resumed.outcome.value == "succeeded"
    assert [c for c, _ in again.calls] == ["announce done"]


def test_a_remote_step_shows_its_hosts_and_a_section_step_its_section(tmp_path: Path) -> None:
    from opsbooks.testing.fakes import FakeHosts

    seen: list[ob.StepView] = []

    class Fleet(ob.Runbook):
        """Restart nginx on the web role, inside a section."""

        name = "unit.fleet_hooks"
        scope = "tests"
        owner = "sre"
        last_reviewed = "2026-11-01"

        class web(ob.Section):
            """Restart the web tier"""

            restart = ob.Remote("service nginx restart", role="web")

        done = ob.Command("true")

        def before_step(self, ctx: ob.StepContext, step: ob.StepView) -> None:
            seen.append(step)

    surroundings = Surroundings(
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=FakeBackend(),
        hosts=FakeHosts(),
        install_signal_handlers=False,
    )
    hosts = {"web1": {"roles": ["web"]}, "web2": {"roles": ["web"]}}
    report = start_run(
        Invocation(runbook=Fleet.name),
        Config(root=tmp_path, hosts=hosts),
        surroundings,
        Catalog([Fleet]),
    )
    assert report is not None and report.outcome.value == "succeeded"
    first, second = seen
    assert (first.id, first.section, first.hosts) == ("web.restart", "web", ("web1", "web2"))
    assert (second.id, second.section, second.hosts) == ("done", None, ())
