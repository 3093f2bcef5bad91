"""What the console says when a step fails before its command starts (no `$ command`
line as if it had run), when an ``after_step`` hook fails a step that succeeded (the
hook's failure is printed), and what ``--mark-done SECTION`` says.

In-process, with ``FakeBackend`` and a real SQLite journal in a temp dir.
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
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend


class Hooked(ob.Runbook):
    """Probe, use the probe, restart; its hooks fail chosen steps."""

    name = "unit.not_run"
    scope, owner, last_reviewed = "console tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        probe: bool = True
        fail_before: str = ""
        fail_after: str = ""

    find = ob.Command("find-target", outputs=("target",), when="probe")
    use = ob.Command("use-target {outputs.target}")

    class caches(ob.Section):
        """Warm the caches"""

        fill = ob.Command("fill-cache")
        check = ob.Command("check-cache")

    def before_step(self, ctx: ob.StepContext, step: ob.StepView) -> None:
        if step.id == self.params.fail_before:
            raise RuntimeError("ticket system down")

    def after_step(self, ctx: ob.StepContext, step: ob.StepView, result: ob.StepOutcome) -> None:
        if step.id == self.params.fail_after:
            raise RuntimeError("audit sink down")


def _surroundings(backend: FakeBackend, out: io.StringIO) -> Surroundings:
    return Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
    )


def _run(root: Path, backend: FakeBackend, **params: Any) -> tuple[RunReport, str]:
    out = io.StringIO()
    invocation = Invocation(runbook=Hooked.name, params=params, options=RunOptions())
    report = start_run(
        invocation, Config(root=root), _surroundings(backend, out), Catalog([Hooked])
    )
    assert report is not None
    return report, out.getvalue()


def _backend(**more: tuple[int, str]) -> FakeBackend:
    return FakeBackend(answers={"find-target": (0, "::output target=t1\n")} | more)


def test_a_missing_output_fails_the_step_without_a_command_line(tmp_path: Path) -> None:
    backend = _backend()
    report, out = _run(tmp_path, backend, probe=False)
    assert report.failed_step == "use"
    assert "output 'target' is not available" in out
    assert "$ use-target" not in out
    assert [c for c, _ in backend.calls] == []


def test_a_before_hook_that_raises_shows_no_command_line(tmp_path: Path) -> None:
    backend = _backend()
    report, out = _run(tmp_path, backend, fail_before="use")
    assert report.failed_step == "use"
    assert "before_step raised RuntimeError: ticket system down" in out
    assert "$ use-target" not in out
    assert "    $ find-target" in out  # a step that did run keeps its line


def test_an_after_hook_that_raises_says_why_after_the_ok(tmp_path: Path) -> None:
    report, out = _run(tmp_path, _backend(), fail_after="use")
    assert report.failed_step == "use"
    lines = out.splitlines()
    ran = lines.index("    $ use-target t1")
    ok = next(i for i, line in enumerate(lines) if i > ran and line.startswith("    -> ok"))
    assert lines[ok + 1].startswith("  note: hook unit.not_run.Hooked.after_step raised ")
    assert "RuntimeError: audit sink down" in lines[ok + 1]


def test_mark_done_of_a_section_says_it_is_a_section_and_lists_its_steps(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, _backend(**{"fill-cache": (1, "cold\n")}))
    assert first.failed_step == "caches.fill"
    request = ResumeRequest(run_id=first.run_id, options=RunOptions(mark_done=("caches",)))
    surroundings = _surroundings(_backend(), io.StringIO())
    with pytest.raises(ob.BadInput) as caught:
        resume_run(request, Config(root=tmp_path), surroundings, Catalog([Hooked]))
    message = str(caught.value)
    assert "'caches' is a section of unit.not_run, not a step" in message
    assert "caches.fill, caches.check" in message
