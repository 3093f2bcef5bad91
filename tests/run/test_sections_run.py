"""Sections and Include through the runner, against fakes: dotted ids in the journal,
headings on the console, ``--start-at``/``--skip`` by section, rollback across
sections, and resume (also ``--mark-done`` of a dotted id).

In-process, with ``FakeBackend`` for commands and a real SQLite journal in a temp dir
(the journal is the record under test); no subprocess, no sleep.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.records.journal import Transition, open_journal
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend


class Bounce(ob.Runbook):
    """Bounce the app on one host."""

    name = "unit.bounce"
    scope, owner, last_reviewed = "section unit tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        host: str

    stop = ob.Command("app stop {host}", undo="start")
    start = ob.Command("app start {host}")
    check = ob.Command("app check {host}")


class Maintenance(ob.Runbook):
    """Drain a host, bounce its app, put it back."""

    name = "unit.sections"
    scope, owner, last_reviewed = "section unit tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        target: str = "web1"

    announce = ob.Command("announce {target}")

    class drain(ob.Section):
        """Drain the host"""

        approve = ob.Gate.confirm("Drain {target}?")
        take_out = ob.Command("lb out {target}", undo="put_back", when="approve")
        put_back = ob.Command("lb in {target}")

    bounce = ob.Include(Bounce, params={"host": "{target}.internal"})
    finish = ob.Command("finish {target}")


def _run(root: Path, backend: FakeBackend, **options: Any) -> tuple[RunReport, str]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        scripted=options.pop("scripted", {"drain.approve": True}),
    )
    resume = options.pop("resume", None)
    book = options.pop("runbook", Maintenance)
    catalog = Catalog([book])
    if resume is not None:
        request = ResumeRequest(run_id=resume, options=RunOptions(**options))
        report = resume_run(request, Config(root=root), surroundings, catalog)
    else:
        invocation = Invocation(runbook=book.name, params={}, options=RunOptions(**options))
        started = start_run(invocation, Config(root=root), surroundings, catalog)
        assert started is not None
        report = started
    return report, out.getvalue()


def _transitions(root: Path, run_id: str) -> list[Transition]:
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        return journal.transitions(run_id)
    finally:
        journal.close()


def _calls(backend: FakeBackend) -> list[str]:
    return [command for command, _ in backend.calls]


def test_a_run_journals_dotted_ids_and_binds_the_included_params(tmp_path: Path) -> None:
    backend = FakeBackend()
    report, out = _run(tmp_path, backend)
    assert report.outcome.value == "succeeded"
    assert _calls(backend) == [
        "announce web1",
        "lb out web1",
        "app stop web1.internal",
        "app check web1.internal",
        "finish web1",
    ]
    done = [
        t.step_id for t in _transitions(tmp_path, report.run_id) if t.status.value == "succeeded"
    ]
    assert done == [
        "announce",
        "drain.approve",
        "drain.take_out",
        "bounce.stop",
        "bounce.check",
        "finish",
    ]
    lines = out.splitlines()
    heading = lines.index("== 2. Drain the host ==")
    assert lines[heading + 1].startswith("[2/6] drain.approve: Approve (gate)")
    assert out.count("== 2. Drain the host ==") == 1
    assert "== 3. Bounce ==" in lines


def test_the_audit_records_the_section_headings(tmp_path: Path) -> None:
    report, _ = _run(tmp_path, FakeBackend())
    audit = tmp_path / ".opsbooks" / "runs" / f"{report.run_id}.jsonl"
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    heads = [(e["step"], e["headings"]) for e in events if e["event"] == "step_sections"]
    assert heads[0] == ("drain.approve", ["2. Drain the host"])
    assert ("bounce.check", ["3. Bounce"]) in heads


def test_start_at_a_section_starts_at_its_first_step(tmp_path: Path) -> None:
    backend = FakeBackend()
    report, _ = _run(tmp_path, backend, start_at="bounce")
    assert report.outcome.value == "succeeded"
    assert _calls(backend) == ["app stop web1.internal", "app check web1.internal", "finish web1"]
    reasons = {t.step_id: t.reason for t in _transitions(tmp_path, report.run_id)}
    assert reasons["drain.take_out"] == "before --start-at bounce.stop"


def test_skip_a_section_skips_all_its_steps(tmp_path: Path) -> None:
    backend = FakeBackend()
    report, _ = _run(tmp_path, backend, skip=("drain",))
    assert report.outcome.value == "succeeded"
    assert "lb out web1" not in _calls(backend)
    reasons = {t.step_id: t.reason for t in _transitions(tmp_path, report.run_id)}
    assert reasons["drain.approve"] == reasons["drain.take_out"] == "--skip"


def test_an_unknown_section_is_bad_input_listing_the_known_ids(tmp_path: Path) -> None:
    with pytest.raises(ob.BadInput, match=r"--start-at drian: .*its sections are: bounce, drain"):
        _run(tmp_path, FakeBackend(), start_at="drian")


def test_a_failure_in_an_include_undoes_steps_of_other_sections(tmp_path: Path) -> None:
    backend = FakeBackend(answers={"app check": (1, "still down\n")})
    report, _ = _run(tmp_path, backend)
    assert report.outcome.value in ("failed", "rolled_back")
    assert _calls(backend)[-2:] == ["app start web1.internal", "lb in web1"]  # newest first
    undone = [
        t.detail.get("undo") for t in _transitions(tmp_path, report.run_id) if t.detail.get("undo")
    ]
    assert set(undone) >= {"bounce.start", "drain.put_back"}


def test_resume_goes_on_from_the_failed_step_in_its_section(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, FakeBackend(answers={"app check": (1, "down\n")}), no_rollback=True)
    assert first.outcome.value == "failed" and first.failed_step == "bounce.check"
    backend = FakeBackend()
    second, out = _run(tmp_path, backend, resume=first.run_id)
    assert second.outcome.value == "succeeded"
    assert _calls(backend) == ["app check web1.internal", "finish web1"]
    assert "== 3. Bounce ==" in out


def test_mark_done_takes_a_dotted_step_id(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, FakeBackend(answers={"app check": (1, "down\n")}), no_rollback=True)
    backend = FakeBackend()
    second, _ = _run(
        tmp_path,
        backend,
        resume=first.run_id,
        mark_done=("bounce.check",),
        reason="checked by hand",
    )
    assert second.outcome.value == "succeeded"
    assert _calls(backend) == ["finish web1"]


class Routed(ob.Runbook):
    """Probe, then take the fast or the slow path."""

    name = "unit.routed"
    scope, owner, last_reviewed = "section unit tests", "sre", dt.date(2026, 11, 1)

    class probe(ob.Section):
        """Probe"""

        read = ob.Command("probe", outputs=("version",))
        pick = ob.Gate.choose("Which path?", ["fast", "slow"])
        route = ob.Branch("pick", {"fast": "deploy.fast"}, default="deploy.slow")

    class deploy(ob.Section):
        """Deploy"""

        slow = ob.Command("slow {outputs.version}")
        fast = ob.Command("fast {outputs.version}", when="probe.pick == 'fast'")


def test_outputs_branch_routes_and_gate_answers_work_across_sections(tmp_path: Path) -> None:
    backend = FakeBackend(answers={"probe": (0, "::output version=1.2\n")})
    report, _ = _run(tmp_path, backend, runbook=Routed, scripted={"probe.pick": "fast"})
    assert report.outcome.value == "succeeded"
    assert _calls(backend) == ["probe", "fast 1.2"]
    assert Routed.step("deploy.fast").when == "answers.probe.pick == 'fast'"
    reasons = {t.step_id: t.reason for t in _transitions(tmp_path, report.run_id)}
    assert "deploy.fast" in (reasons["deploy.slow"] or "")
