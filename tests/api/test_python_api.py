"""``opsbooks.run`` and ``opsbooks.resume`` in-process: a real run of a small runbook in a
temporary project (SQLite journal and audit trail in its state dir), through the same
session as the CLI. No subprocess: the runbook's steps are Python steps and a gate."""

from __future__ import annotations

import importlib
import io
import itertools
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_kit import write_project

import opsbooks as ob
from opsbooks.edges.config import load_config
from opsbooks.edges.identity import LocalIdentity
from opsbooks.edges.session import journal_url
from opsbooks.plan.state import RunOutcome, StepStatus
from opsbooks.records.audit import verify
from opsbooks.records.journal import open_journal

RUNBOOK = '''
class Marker(ob.Runbook):
    """Write a release marker for a label once an operator approves it."""

    name = "demo.marker"
    title = "Write the release marker"
    owner = "sre"
    scope = "The demo project's marker files."
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        label: str = ob.Field(pattern=r"^[a-z][a-z0-9-]*$", description="release label")
        token: ob.SecretStr = ob.Field(
            default=ob.SecretStr("unset"), description="token written beside the marker"
        )

    @ob.step(idempotent=True)
    def check_ready(self, ctx):
        """The project's ready file exists."""
        if not (ctx.workdir / "ready").is_file():
            raise RuntimeError("no ready file: create it, then resume")
        return "ready"

    approve = ob.Gate("Write the marker for {label}?", description="The label is the release.")

    @ob.step(irreversible="a marker is history")
    def write_marker(self, ctx):
        """Write the marker and the token's length."""
        token = ctx.params.token.get_secret_value()
        (ctx.workdir / f"marker-{ctx.params.label}").write_text(f"{ctx.run_id} {len(token)}")
        return "written"
'''

STEPS = ["check_ready", "approve", "write_marker"]
_packages = itertools.count()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project with one runbook package (a fresh package name: no import is reused)."""
    package = f"apibooks{next(_packages)}"
    root = write_project(tmp_path / "project", {"demo/marker": RUNBOOK}, package=package)
    monkeypatch.syspath_prepend(str(root))
    (root / "ready").touch()
    yield root
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]


def _toml(root: Path) -> Path:
    return root / "opsbooks.toml"


def _journal_run(root: Path, run_id: str):  # type: ignore[no-untyped-def]
    journal = open_journal(journal_url(load_config(file=_toml(root))))
    try:
        return journal.get_run(run_id), journal.gates(run_id), journal.transitions(run_id)
    finally:
        journal.close()


def test_run_by_name_does_every_step_journals_the_run_and_its_audit_verifies(
    project: Path,
) -> None:
    out = io.StringIO()
    report = ob.run(
        "demo.marker",
        {"label": "v1"},
        answers={"approve": True},
        config=_toml(project),
        operator="alice",
        output=out,
    )
    assert isinstance(report, ob.RunReport)
    assert report.outcome is RunOutcome.SUCCEEDED
    assert report.exit_code == 0
    assert dict(report.steps) == dict.fromkeys(STEPS, StepStatus.SUCCEEDED)
    assert (project / "marker-v1").read_text() == f"{report.run_id} 5"
    record, gates, _ = _journal_run(project, report.run_id)
    assert (record.runbook, record.outcome, record.who) == ("demo.marker", "succeeded", "alice")
    assert [(g.step_id, g.answer, g.approver, g.source) for g in gates] == [
        ("approve", True, "alice", "answers")
    ]
    audit = project / ".opsbooks" / "runs" / f"{report.run_id}.jsonl"
    assert verify(audit, record.audit_head).ok
    assert "write_marker" in out.getvalue()


def test_an_unanswered_gate_stops_the_run_and_resume_with_the_answer_completes_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)  # config=None: the nearest opsbooks.toml above cwd
    stopped = ob.run("demo.marker", {"label": "v2"}, output=io.StringIO())
    assert stopped.outcome is RunOutcome.STOPPED
    assert stopped.exit_code == 3
    assert not (project / "marker-v2").exists()
    with pytest.raises(ob.BadInput, match="secret parameter 'token'"):
        ob.resume(stopped.run_id, answers={"approve": True}, output=io.StringIO())
    done = ob.resume(
        stopped.run_id[:12],
        answers={"approve": True},
        secrets={"token": ob.SecretStr("abc")},
        output=io.StringIO(),
    )
    assert (done.run_id, done.outcome) == (stopped.run_id, RunOutcome.SUCCEEDED)
    assert (project / "marker-v2").read_text() == f"{done.run_id} 3"
    record, gates, _ = _journal_run(project, done.run_id)
    assert record.outcome == "succeeded"
    assert [g.answer for g in gates] == [True]


def test_a_failed_step_is_reported_and_resume_after_the_fix_completes_the_run(
    project: Path,
) -> None:
    (project / "ready").unlink()
    failed = ob.run(
        "demo.marker", {"label": "v3"}, answers={"approve": True}, config=_toml(project),
        output=io.StringIO(),
    )  # fmt: skip
    assert failed.outcome is RunOutcome.FAILED
    assert (failed.failed_step, failed.exit_code) == ("check_ready", 1)
    assert "no ready file" in failed.reason
    assert failed.steps.get("write_marker", StepStatus.PENDING) is StepStatus.PENDING
    (project / "ready").touch()  # the fix
    done = ob.resume(
        failed.run_id,
        answers={"approve": True},
        secrets={"token": "unset"},
        config=_toml(project),
        output=io.StringIO(),
    )
    assert done.outcome is RunOutcome.SUCCEEDED
    assert dict(done.steps) == dict.fromkeys(STEPS, StepStatus.SUCCEEDED)
    _, _, transitions = _journal_run(project, done.run_id)
    ran = [t.step_id for t in transitions if t.status is StepStatus.RUNNING]
    assert ran == ["check_ready", "check_ready", "approve", "write_marker"]


@pytest.mark.parametrize(
    ("params", "field", "hint"),
    [
        ({"label": "-rf"}, "label", "must match"),
        ({}, "label", "required"),
        ({"label": "v4", "lable": "x"}, "lable", ""),
    ],
)
def test_bad_params_raise_bad_input_naming_the_field_and_nothing_runs(
    project: Path, params: dict[str, str], field: str, hint: str
) -> None:
    with pytest.raises(ob.ParamsError) as caught:
        ob.run("demo.marker", params, config=_toml(project), output=io.StringIO())
    assert isinstance(caught.value, ob.BadInput)
    message = str(caught.value)
    assert field in message and hint in message.lower()
    assert "Traceback" not in message
    assert not (project / ".opsbooks" / "runs").exists()  # no run, no audit trail


def test_a_class_and_a_params_instance_run_and_a_secret_stays_out_of_every_record(
    project: Path, tmp_path: Path
) -> None:
    package = load_config(file=_toml(project)).packages[0]
    marker = importlib.import_module(f"{package}.demo.marker").Marker
    secret = "s3cr3t-token-value"
    state = tmp_path / "elsewhere"
    url = f"sqlite:///{tmp_path / 'api-journal.db'}"
    out = io.StringIO()
    report = ob.run(
        marker,
        marker.Params(label="v5", token=ob.SecretStr(secret)),
        answers={"approve": True},
        journal=url,
        state_dir=state,
        config=_toml(project),
        output=out,
    )
    assert report.outcome is RunOutcome.SUCCEEDED
    assert (project / "marker-v5").read_text().endswith(f" {len(secret)}")
    audit = state / "runs" / f"{report.run_id}.jsonl"
    assert audit.is_file() and not (project / ".opsbooks").exists()
    journal = open_journal(url)
    try:
        assert journal.get_run(report.run_id).params["label"] == "v5"
    finally:
        journal.close()
    for where in (audit.read_text(), out.getvalue(), repr(report)):
        assert secret not in where
    assert secret.encode() not in (tmp_path / "api-journal.db").read_bytes()


class Inline(ob.Runbook):
    """Count to the given number, as a notebook would define a runbook."""

    name = "notebook.count"
    title = "Count"
    owner = "sre"
    scope = "Nothing outside the run."
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        to: int = ob.Field(ge=1, description="the last number")

    confirm = ob.Gate("Count to {to}?", description="The number is small enough.")

    @ob.step()
    def count(self, ctx: ob.StepContext) -> str:
        """Say the numbers."""
        return " ".join(str(n) for n in range(1, ctx.params.to + 1))  # type: ignore[attr-defined]


def test_a_class_outside_the_catalog_runs_and_resumes_when_passed_again(
    project: Path,
) -> None:
    stopped = ob.run(Inline, {"to": 3}, config=_toml(project), output=io.StringIO())
    assert stopped.outcome is RunOutcome.STOPPED
    with pytest.raises(ob.UnknownRunbook, match=r"notebook\.count"):
        ob.resume(stopped.run_id, config=_toml(project), output=io.StringIO())
    done = ob.resume(
        stopped.run_id,
        answers={"confirm": True},
        runbooks=[Inline],
        config=_toml(project),
        output=io.StringIO(),
    )
    assert done.outcome is RunOutcome.SUCCEEDED
    assert done.outputs["count"] == "1 2 3"


def test_what_is_not_a_runbook_an_unknown_name_or_a_bad_answer_is_bad_input(
    project: Path,
) -> None:
    with pytest.raises(ob.BadInput, match="Runbook subclass"):
        ob.run(object, config=_toml(project))  # type: ignore[arg-type]
    with pytest.raises(ob.UnknownRunbook, match=r"demo\.markr"):
        ob.run("demo.markr", config=_toml(project))
    with pytest.raises(ob.BadInput, match=r"params for demo\.marker must be"):
        ob.run("demo.marker", ["v1"], config=_toml(project))  # type: ignore[arg-type]
    with pytest.raises(ob.AnswersError, match="aprove"):
        ob.run("demo.marker", {"label": "v6"}, answers={"aprove": True}, config=_toml(project))


def test_opsbooks_run_is_the_function_and_still_reaches_the_run_layer() -> None:
    import opsbooks.run.outcome as outcome  # the layer this name shadows

    assert outcome.RunReport is ob.RunReport
    assert ob.run.outcome is sys.modules["opsbooks.run.outcome"]  # type: ignore[attr-defined]
    from opsbooks import resume, run

    assert run is ob.run and resume is ob.resume
    assert run.__doc__ and "Run ``runbook``" in run.__doc__
    assert {"run", "resume", "RunReport"} <= set(ob.__all__)


def test_the_guides_first_example_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "guides" / "python-api.md").read_text()
    example = guide.split("## A first run", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    (tmp_path / "opsbooks.toml").write_text("packages = []\n")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "python-api.md", "exec"), {"__name__": "guide_example"})
    assert capsys.readouterr().out.rstrip().endswith("hello, payments")
    assert len(list((tmp_path / ".opsbooks" / "runs").glob("*.jsonl"))) == 1


def test_a_runbook_locked_by_a_live_run_is_refused_with_lock_held(project: Path) -> None:
    first = ob.run("demo.marker", {"label": "v7"}, config=_toml(project), output=io.StringIO())
    assert first.outcome is RunOutcome.STOPPED  # at the gate: its lock is released
    url = journal_url(load_config(file=_toml(project)))
    journal = open_journal(url, identity=LocalIdentity())
    try:
        journal.acquire_lock("demo.marker", first.run_id, at=time.time())  # this live process
        with pytest.raises(ob.LockHeld, match=first.run_id):
            ob.run("demo.marker", {"label": "v8"}, config=_toml(project), output=io.StringIO())
    finally:
        journal.release_lock("demo.marker", first.run_id)
        journal.close()
    assert not (project / "marker-v8").exists()


# --- the API speaks its own words, not the CLI's -----------------------------------------


def test_a_class_outside_the_catalog_reports_how_to_resume_it_from_python(
    project: Path,
) -> None:
    stopped = ob.run(Inline, {"to": 2}, config=_toml(project), output=io.StringIO())
    assert stopped.resume_command == f"opsbooks.resume({stopped.run_id!r}, runbooks=[Inline])"
    again = ob.resume(
        stopped.run_id, runbooks=[Inline], config=_toml(project), output=io.StringIO()
    )
    assert again.outcome is RunOutcome.STOPPED  # nobody answered again
    assert again.resume_command == stopped.resume_command
    in_catalog = ob.run("demo.marker", {"label": "v9"}, config=_toml(project), output=io.StringIO())
    assert in_catalog.resume_command == f"opsbooks resume {in_catalog.run_id}"


def test_a_stopped_gate_says_which_keywords_answer_it(project: Path) -> None:
    stopped = ob.run("demo.marker", {"label": "v10"}, config=_toml(project), output=io.StringIO())
    assert isinstance(stopped.error, ob.GateStopped)
    for text in (stopped.reason, str(stopped.error), stopped.error.reason):
        assert "pass yes=True" in text and "answers={'approve': ...}" in text
        assert "interactive=True" in text
        assert "--yes" not in text and "--answers" not in text and "FILE" not in text


def test_bad_params_name_the_field_as_the_keyword_not_the_flag(project: Path) -> None:
    with pytest.raises(ob.ParamsError) as caught:
        ob.run("demo.marker", {"label": "-rf"}, config=_toml(project), output=io.StringIO())
    assert caught.value.problems[0].startswith("label: must match")
    assert "\n  label: must match" in str(caught.value)
    assert "--label" not in str(caught.value)


def test_a_missing_secret_on_resume_names_the_secrets_keyword(project: Path) -> None:
    stopped = ob.run("demo.marker", {"label": "v11"}, config=_toml(project), output=io.StringIO())
    with pytest.raises(ob.BadInput) as caught:
        ob.resume(
            stopped.run_id, answers={"approve": True}, config=_toml(project), output=io.StringIO()
        )
    message = str(caught.value)
    assert "secret parameter 'token'" in message
    assert "secrets={'token': ...}" in message and "OPSBOOKS_SECRET" not in message


def test_a_held_lock_names_force_and_run_passes_force_to_the_lock(project: Path) -> None:
    first = ob.run("demo.marker", {"label": "v12"}, config=_toml(project), output=io.StringIO())
    url = journal_url(load_config(file=_toml(project)))
    journal = open_journal(url, identity=LocalIdentity())
    try:
        journal.acquire_lock("demo.marker", first.run_id, at=time.time())  # this live process
        with pytest.raises(ob.LockHeld) as plain:
            ob.run("demo.marker", {"label": "v13"}, config=_toml(project), output=io.StringIO())
        assert "pass force=True to take the lock" in str(plain.value)
        with pytest.raises(ob.LockHeld) as forced:  # force never takes a live run's lock
            ob.run(
                "demo.marker", {"label": "v13"}, force=True, config=_toml(project),
                output=io.StringIO(),
            )  # fmt: skip
        assert "force=True only takes the lock from a run whose process is gone" in str(
            forced.value
        )
        for caught in (plain.value, forced.value):
            assert "--force" not in str(caught) and caught.run_id == first.run_id
    finally:
        journal.release_lock("demo.marker", first.run_id)
        journal.close()


@pytest.mark.parametrize(
    ("cli", "api"),
    [
        (
            "the definition changed, so resuming needs a yes (--yes or `resume:go: yes` in "
            "--answers)",
            "the definition changed, so resuming needs a yes (yes=True or "
            "answers={'resume:go': True})",
        ),
        (
            "it crashed. Resume it with `opsbooks resume 0123abcd`, or pass --force to start",
            "it crashed. Resume it with `opsbooks.resume('0123abcd')`, or pass force=True to start",
        ),
        ("--mark-done deploy: demo has no such step", "mark_done deploy: demo has no such step"),
        ("  --max-age: must be >= 1, got 0", "  max_age: must be >= 1, got 0"),
        ("no runbook named 'x'. Run `opsbooks list`", "no runbook named 'x'. Run `opsbooks list`"),
    ],
)
def test_the_cli_words_of_a_message_become_the_apis_keywords(cli: str, api: str) -> None:
    from opsbooks.edges.api import api_words

    assert api_words(cli) == api
