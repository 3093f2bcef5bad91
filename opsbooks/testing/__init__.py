"""The public test kit: run a real runbook in a pytest test, answer its gates from a
script, break things on purpose, and assert on what the journal recorded.

Registered as a pytest plugin (entry point ``opsbooks``), so the fixtures ``drill``
and ``fake_clock`` are available in any project that installs opsbooks::

    def test_restore_drill(drill):
        result = drill.run("backup.restore", {"db": url}, answers={"restore_approved": True})
        result.assert_succeeded()
        result.assert_ran("verify")
        assert result.metrics["rto_seconds"] < 900

Every drill gets its own journal and audit directory under ``tmp_path``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from opsbooks.define.runbook import Runbook
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog, discover, installed_catalogs
from opsbooks.edges.session import (
    Invocation,
    ResumeRequest,
    Surroundings,
    journal_url,
    resume_run,
    start_run,
)
from opsbooks.errors import OpsbooksError
from opsbooks.plan.state import StepStatus
from opsbooks.records.audit import verify
from opsbooks.records.journal import (
    FactRecord,
    GateRecord,
    Journal,
    RunRecord,
    Transition,
    open_journal,
)
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.faults import inject_failures


class FakeClock:
    """A clock that moves only when slept on or advanced: polls and timeouts without waiting."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class DrillResult:
    """What a drill run did, read back from its journal."""

    report: RunReport
    output: str
    transitions: list[Transition]
    gates: list[GateRecord]
    record: RunRecord
    audit_path: Path
    #: the facts the run established (``marks=``, ``::fact`` lines), oldest first
    facts: list[FactRecord] = field(default_factory=list)

    def fact(self, name: str) -> FactRecord | None:
        """The latest fact called ``name``, or None (``result.fact("incident.resolved")``)."""
        found = [f for f in self.facts if f.name == name]
        return found[-1] if found else None

    def assert_audit_intact(self) -> None:
        """The run's audit file verifies, up to the last line the journal recorded."""
        checked = verify(self.audit_path, self.record.audit_head)
        if not checked.ok:
            self._fail(f"audit trail {self.audit_path} does not verify: {checked.problems}")

    @property
    def run_id(self) -> str:
        return self.report.run_id

    @property
    def outcome(self) -> str:
        return self.report.outcome.value

    @property
    def exit_code(self) -> int:
        return self.report.exit_code

    @property
    def error(self) -> OpsbooksError | None:
        return self.report.error

    @property
    def steps(self) -> dict[str, str]:
        return {step: status.value for step, status in self.report.steps.items()}

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.report.metrics)

    @property
    def rto(self) -> float | None:
        value = self.metrics.get("rto_seconds")
        return None if value is None else float(value)

    @property
    def rpo(self) -> float | None:
        value = self.metrics.get("rpo_seconds")
        return None if value is None else float(value)

    def history(self, step: str) -> list[str]:
        """Every status the step passed through, in order."""
        return [t.status.value for t in self.transitions if t.step_id == step]

    def _fail(self, message: str) -> None:
        raise AssertionError(f"{message}\n--- drill output ---\n{self.output}")

    def assert_succeeded(self, *, warnings_ok: bool = False) -> None:
        """The run succeeded; with ``warnings_ok``, a run that went on past a failing
        ``on_failure="continue"`` step (``succeeded_with_warnings``) counts too."""
        accepted = {"succeeded", "succeeded_with_warnings"} if warnings_ok else {"succeeded"}
        if self.outcome not in accepted:
            hint = (
                " (pass warnings_ok=True to accept a run that went on past non-critical failures)"
                if self.outcome == "succeeded_with_warnings"
                else ""
            )
            self._fail(f"run {self.run_id} ended {self.outcome}: {self.report.reason}{hint}")

    def assert_ran(self, step: str) -> None:
        if StepStatus.RUNNING.value not in self.history(step):
            self._fail(f"step {step!r} never ran; its history: {self.history(step)}")

    def assert_succeeded_step(self, step: str) -> None:
        if self.steps.get(step) != StepStatus.SUCCEEDED.value:
            self._fail(f"step {step!r} is {self.steps.get(step, 'pending')}, not succeeded")

    def assert_skipped(self, step: str) -> None:
        if self.steps.get(step) != StepStatus.SKIPPED.value:
            self._fail(f"step {step!r} is {self.steps.get(step, 'pending')}, not skipped")

    def assert_compensated(self, step: str) -> None:
        if self.steps.get(step) != StepStatus.COMPENSATED.value:
            self._fail(f"step {step!r} is {self.steps.get(step, 'pending')}, not compensated")

    def assert_not_ran(self, step: str) -> None:
        if StepStatus.RUNNING.value in self.history(step):
            self._fail(f"step {step!r} ran; its history: {self.history(step)}")


@dataclass
class Drill:
    """Runs runbooks in an isolated project directory with scripted answers."""

    root: Path
    packages: tuple[str, ...] = field(default_factory=lambda: tuple(installed_catalogs()))
    settings: Mapping[str, Any] = field(default_factory=dict)
    clock: FakeClock | None = None
    environ: Mapping[str, str] = field(default_factory=dict)
    runbooks: tuple[type[Runbook], ...] = ()

    @property
    def config(self) -> Config:
        data = {"packages": list(self.packages), "state_dir": ".opsbooks", **self.settings}
        config = Config.model_validate(data)
        config.root = self.root
        config.source = "(drill)"
        return config

    def catalog(self) -> Catalog:
        return Catalog(self.runbooks) if self.runbooks else discover(self.packages)

    def journal(self) -> Journal:
        return open_journal(journal_url(self.config))

    def _surroundings(
        self, answers: Mapping[str, Any] | None, fail: Mapping[str, str] | Iterable[str]
    ) -> tuple[Surroundings, io.StringIO]:
        out = io.StringIO()
        injected = dict(fail) if isinstance(fail, Mapping) else {s: "drill" for s in fail}
        environ = {"OPSBOOKS_USER": "drill", **self.environ}
        surroundings = Surroundings(
            stdin=io.StringIO(),
            stdout=out,
            environ=environ,
            interactive=False,
            scripted=dict(answers or {}),
            install_signal_handlers=False,
            intercept=inject_failures(injected) if injected else None,
            waits=self.clock,
        )
        return surroundings, out

    def run(
        self,
        runbook: str | type[Runbook],
        params: Mapping[str, Any] | None = None,
        *,
        answers: Mapping[str, Any] | None = None,
        yes: bool = False,
        fail: Mapping[str, str] | Iterable[str] = (),
        no_rollback: bool = False,
        start_at: str | None = None,
        skip: Iterable[str] = (),
    ) -> DrillResult:
        """Run for real; a ``BadInput`` (bad params or answers) raises before anything runs."""
        name = runbook if isinstance(runbook, str) else runbook.name
        catalog = self.catalog()
        if not isinstance(runbook, str) and runbook not in catalog:
            catalog = Catalog([*catalog, runbook])
        surroundings, out = self._surroundings(answers, fail)
        options = RunOptions(yes=yes, no_rollback=no_rollback, start_at=start_at, skip=tuple(skip))
        invocation = Invocation(runbook=name, params=dict(params or {}), options=options)
        report = start_run(invocation, self.config, surroundings, catalog)
        assert report is not None
        return self._result(report, out)

    def resume(
        self,
        run_id: str,
        *,
        answers: Mapping[str, Any] | None = None,
        yes: bool = False,
        fail: Mapping[str, str] | Iterable[str] = (),
        mark_done: Mapping[str, str] | None = None,
    ) -> DrillResult:
        surroundings, out = self._surroundings(answers, fail)
        marked = dict(mark_done or {})
        reason = "; ".join(dict.fromkeys(marked.values())) or None
        options = RunOptions(yes=yes, mark_done=tuple(marked), reason=reason)
        request = ResumeRequest(run_id=run_id, options=options)
        report = resume_run(request, self.config, surroundings, self.catalog())
        return self._result(report, out)

    def _result(self, report: RunReport, out: io.StringIO) -> DrillResult:
        journal = self.journal()
        try:
            return DrillResult(
                report,
                out.getvalue(),
                journal.transitions(report.run_id),
                journal.gates(report.run_id),
                journal.get_run(report.run_id),
                self.config.state_path / "runs" / f"{report.run_id}.jsonl",
                journal.facts(report.run_id),
            )
        finally:
            journal.close()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock for ``WaitUntil`` and timeouts that never really sleeps."""
    return FakeClock()


@pytest.fixture
def drill(tmp_path: Path, fake_clock: FakeClock) -> Iterator[Drill]:
    """A ``Drill`` rooted in a fresh temp directory, using the project's catalog."""
    root = tmp_path / "drill"
    root.mkdir()
    yield Drill(root=root, clock=fake_clock)
