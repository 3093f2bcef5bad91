"""The runner against fakes: transitions, rollback, policies, resume, branches, outputs.

In-process, with ``FakeBackend`` for commands and a real SQLite journal in a temp dir
(the journal is the record under test, so it is the real one); no subprocess, no sleep.
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
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import open_journal
from opsbooks.run.gates import GateAnswer, GateRequest
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.run.policies import AskBeforeEachStep
from opsbooks.run.state import RunState
from opsbooks.testing.fakes import FakeBackend
from opsbooks.testing.faults import inject_failures


class Release(ob.Runbook):
    """Tag, deploy, announce; undo the tag and the deploy on failure."""

    name = "unit.release"
    scope = "runner unit tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(ob.Params):
        version: str = ob.Field(default="1.0.0", pattern=r"^\d+\.\d+\.\d+$")
        channel: str = "stable"

    tag = ob.Command("git tag v{version}", undo="untag", outputs=("tagged",))
    untag = ob.Command("git tag -d v{version}")
    route = ob.Branch(on="channel", routes={"stable": "deploy", "beta": "announce"})
    deploy = ob.Command("deploy {outputs.tagged}", undo=ob.Command("undeploy {version}"))
    approve = ob.Gate.confirm("Deploy {version} looks healthy?")
    announce = ob.Command("announce {version}", idempotent=True)


def _surroundings(backend: FakeBackend, **more: Any) -> tuple[Surroundings, io.StringIO]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        **more,
    )
    return surroundings, out


def _run(
    root: Path, backend: FakeBackend, *, params: dict[str, Any] | None = None, **options: Any
) -> RunReport:
    scripted = options.pop("scripted", {"approve": "yes"})
    surroundings, _ = _surroundings(backend, scripted=scripted, **options.pop("more", {}))
    report = start_run(
        Invocation(runbook=Release.name, params=params or {}, options=RunOptions(**options)),
        Config(root=root),
        surroundings,
        Catalog([Release]),
    )
    assert report is not None
    return report


def _tagging() -> dict[str, tuple[int, str]]:
    return {"git tag v": (0, "::output tagged=v1.0.0\n")}


def _statuses(root: Path, run_id: str) -> list[tuple[str, str]]:
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        return [(t.step_id, t.status.value) for t in journal.transitions(run_id)]
    finally:
        journal.close()


def test_each_step_is_journaled_running_then_its_result_in_order(tmp_path: Path) -> None:
    backend = FakeBackend(answers=_tagging())
    report = _run(tmp_path, backend)
    assert report.exit_code == 0 and report.outcome.value == "succeeded"
    assert _statuses(tmp_path, report.run_id) == [
        ("tag", "running"),
        ("tag", "succeeded"),
        ("route", "running"),
        ("route", "succeeded"),
        ("deploy", "running"),
        ("deploy", "succeeded"),
        ("approve", "running"),
        ("approve", "succeeded"),
        ("announce", "running"),
        ("announce", "succeeded"),
    ]
    assert [c for c, _ in backend.calls] == [
        "git tag v1.0.0",
        "deploy v1.0.0",
        "announce 1.0.0",
    ]


def test_a_failure_undoes_completed_steps_newest_first(tmp_path: Path) -> None:
    backend = FakeBackend(answers={**_tagging(), "announce": (1, "no channel\n")})
    report = _run(tmp_path, backend)
    assert report.outcome.value == "rolled_back" and report.failed_step == "announce"
    assert [c for c, _ in backend.calls][-2:] == ["undeploy 1.0.0", "git tag -d v1.0.0"]
    assert report.steps["deploy"] is StepStatus.COMPENSATED
    assert report.steps["tag"] is StepStatus.COMPENSATED


def test_no_rollback_is_a_policy_that_keeps_what_was_done(tmp_path: Path) -> None:
    backend = FakeBackend(answers={**_tagging(), "announce": (1, "")})
    report = _run(tmp_path, backend, no_rollback=True)
    assert report.outcome.value == "failed"
    assert not any("undeploy" in c or "tag -d" in c for c, _ in backend.calls)


def test_step_mode_is_a_policy_asking_continue_skip_or_abort() -> None:
    planned = ob.plan(Release, Release.Params()).get("deploy")
    asked: list[str] = []

    def answering(value: str) -> AskBeforeEachStep:
        def ask(request: GateRequest, run: RunState) -> GateAnswer:
            asked.append(request.step_id)
            return GateAnswer(value, "unit", "test", 0.0, 0.0)

        return AskBeforeEachStep(ask)

    run = RunState("r1")
    assert answering("continue")(planned, run) is None
    assert answering("skip")(planned, run) == "skipped in --step mode by unit"
    with pytest.raises(ob.GateStopped, match="aborted in --step mode by unit"):
        answering("abort")(planned, run)
    assert asked == ["step:deploy"] * 3


def test_a_branch_routes_past_the_steps_it_does_not_choose(tmp_path: Path) -> None:
    backend = FakeBackend(answers=_tagging())
    report = _run(tmp_path, backend, params={"channel": "beta"})
    assert report.steps["deploy"] is StepStatus.SKIPPED
    assert report.steps["approve"] is StepStatus.SKIPPED
    assert [c for c, _ in backend.calls] == ["git tag v1.0.0", "announce 1.0.0"]


def test_outputs_bind_later_steps_and_are_in_the_report(tmp_path: Path) -> None:
    backend = FakeBackend(answers=_tagging())
    report = _run(tmp_path, backend)
    assert report.outputs["tagged"] == "v1.0.0"
    assert "deploy v1.0.0" in [c for c, _ in backend.calls]


def test_a_declared_output_never_printed_fails_its_step(tmp_path: Path) -> None:
    report = _run(tmp_path, FakeBackend(), no_rollback=True)
    assert report.failed_step == "tag"
    assert "declares output 'tagged'" in report.reason


def test_resume_runs_only_what_did_not_succeed(tmp_path: Path) -> None:
    first = _run(
        tmp_path,
        FakeBackend(answers=_tagging()),
        no_rollback=True,
        more={"intercept": inject_failures({"announce": "rehearsal"})},
    )
    assert first.failed_step == "announce"
    backend = FakeBackend(answers=_tagging())
    surroundings, _ = _surroundings(backend)
    report = resume_run(
        ResumeRequest(run_id=first.run_id), Config(root=tmp_path), surroundings, Catalog([Release])
    )
    assert report.exit_code == 0
    assert [c for c, _ in backend.calls] == ["announce 1.0.0"]


def test_a_declined_gate_stops_the_run_resumably(tmp_path: Path) -> None:
    report = _run(tmp_path, FakeBackend(answers=_tagging()), scripted={"approve": "no"})
    assert report.outcome.value == "stopped" and report.exit_code == 3
    assert "opsbooks resume" in report.resume_command


def test_injected_failures_live_in_the_test_kit_not_the_engine(tmp_path: Path) -> None:
    backend = FakeBackend(answers=_tagging())
    report = _run(tmp_path, backend, more={"intercept": inject_failures({"deploy": "drill"})})
    assert report.failed_step == "deploy" and "injected failure: drill" in report.reason
    assert not any(c.startswith("deploy") for c, _ in backend.calls)
