"""``SubRun`` (linked runs) through the runner, against fakes: the child's own run and
journal, the link on the parent's step, failure and rollback, resume of a failed or
stopped child (the same run id), a succeeded child never run twice, the report and
history links, the page, the dry run and Mermaid, and the definition errors.

In-process, with ``FakeBackend`` for commands and a real SQLite journal in a temp dir
(the journal is the record under test); no subprocess, no sleep.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define.contacts import Contacts
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.edges.subruns import link_notes
from opsbooks.records.journal import Journal, open_journal
from opsbooks.render.dryrun import render_dry_run
from opsbooks.render.markdown import render_runbook
from opsbooks.render.mermaid import render_flow
from opsbooks.render.report import render_markdown as render_report
from opsbooks.render.report import report_data
from opsbooks.run.execute import StepEnv
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.run.state import RunState
from opsbooks.run.subrun import run_subrun
from opsbooks.testing.fakes import FakeBackend

_DOCS = {"scope": "linked-run unit tests", "owner": "sre", "last_reviewed": dt.date(2026, 11, 1)}


class Migrate(ob.Runbook):
    """Migrate one database."""

    name = "unit.migrate"
    scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]

    class Params(ob.Params):
        db: str
        batch: int = 100

    backup = ob.Command("backup {db}", undo="drop_backup")
    drop_backup = ob.Command("drop-backup {db}")
    apply = ob.Command("migrate {db} --batch {batch}")


class Release(ob.Runbook):
    """Release the app, migrating its database as a linked run."""

    name = "unit.release"
    scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]

    class Params(ob.Params):
        env: str = "staging"

    announce = ob.Command("announce {env}")
    migrate = ob.SubRun(Migrate, params={"db": "app_{env}", "batch": "50"})
    deploy = ob.Command("deploy {env}")


def _run(root: Path, backend: FakeBackend, **options: Any) -> tuple[RunReport, str]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        scripted=options.pop("scripted", None),
    )
    resume = options.pop("resume", None)
    catalog = Catalog(options.pop("catalog", [Release]))  # the child found through the link
    if resume is not None:
        request = ResumeRequest(run_id=resume, options=RunOptions(**options))
        return resume_run(request, Config(root=root), surroundings, catalog), out.getvalue()
    book = Release if Release in catalog.all() else catalog.all()[0]
    invocation = Invocation(runbook=book.name, params={}, options=RunOptions(**options))
    started = start_run(invocation, Config(root=root), surroundings, catalog)
    assert started is not None
    return started, out.getvalue()


def _journal(root: Path) -> Journal:
    return open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")


def _child_of(root: Path, run_id: str) -> str:
    journal = _journal(root)
    try:
        links = [
            t.detail["child_run"] for t in journal.transitions(run_id) if "child_run" in t.detail
        ]
    finally:
        journal.close()
    assert links, "the parent's journal names no child run"
    assert len(set(links)) == 1, links
    return str(links[0])


def _calls(backend: FakeBackend) -> list[str]:
    return [command for command, _ in backend.calls]


def test_a_subrun_starts_a_child_run_with_its_own_journal(tmp_path: Path) -> None:
    backend = FakeBackend()
    report, out = _run(tmp_path, backend)
    assert report.outcome.value == "succeeded"
    assert _calls(backend) == [
        "announce staging",
        "backup app_staging",
        "migrate app_staging --batch 50",
        "deploy staging",
    ]
    child = _child_of(tmp_path, report.run_id)
    assert child != report.run_id
    journal = _journal(tmp_path)
    try:
        record = journal.get_run(child)
        assert (record.runbook, record.outcome) == ("unit.migrate", "succeeded")
        assert record.params == {"db": "app_staging", "batch": 50}
        assert [t.step_id for t in journal.transitions(child) if t.status.value == "succeeded"] == [
            "backup",
            "apply",
        ]
        assert journal.lock_holder("unit.migrate") is None  # the child's own lock, released
    finally:
        journal.close()
    assert (tmp_path / ".opsbooks" / "runs" / f"{child}.jsonl").exists()  # its own audit
    assert f"linked run {child} of unit.migrate ended succeeded" in out


def test_a_failed_child_fails_the_step_and_resume_resumes_the_same_child(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, FakeBackend(answers={"migrate": (1, "lock timeout\n")}))
    assert first.outcome.value in ("failed", "rolled_back")
    assert first.failed_step == "migrate"
    assert "ended rolled_back" in first.reason or "ended failed" in first.reason
    child = _child_of(tmp_path, first.run_id)

    backend = FakeBackend()
    second, out = _run(tmp_path, backend, resume=first.run_id)
    assert second.outcome.value == "succeeded"
    assert _child_of(tmp_path, first.run_id) == child  # resumed, not restarted
    assert f"resuming linked run {child}" in out
    assert "migrate app_staging --batch 50" in _calls(backend)
    journal = _journal(tmp_path)
    try:
        assert journal.get_run(child).outcome == "succeeded"
        assert len(journal.runs("unit.migrate")) == 1
    finally:
        journal.close()


def test_a_succeeded_child_is_not_run_again_after_a_later_failure(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, FakeBackend(answers={"deploy": (1, "boom\n")}), no_rollback=True)
    assert first.failed_step == "deploy"
    child = _child_of(tmp_path, first.run_id)
    backend = FakeBackend()
    second, _ = _run(tmp_path, backend, resume=first.run_id)
    assert second.outcome.value == "succeeded"
    assert _calls(backend) == ["deploy staging"]
    journal = _journal(tmp_path)
    try:
        assert [r.id for r in journal.runs("unit.migrate")] == [child]
    finally:
        journal.close()


def test_a_child_stopped_at_a_gate_stops_the_parent_and_resumes_with_it(tmp_path: Path) -> None:
    class Guarded(ob.Runbook):
        """Ask before migrating."""

        name = "unit.guarded"
        scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
        ok = ob.Gate.confirm("Migrate now?")
        go = ob.Command("migrate now")

    class Parent(ob.Runbook):
        """Run the guarded migration."""

        name = "unit.parent"
        scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
        child = ob.SubRun(Guarded)
        after = ob.Command("after")

    out = io.StringIO()

    def surroundings() -> Surroundings:
        return Surroundings(
            stdin=io.StringIO(),
            stdout=out,
            environ={"OPSBOOKS_USER": "unit"},
            interactive=False,
            backend=backend,
            install_signal_handlers=False,
        )

    backend = FakeBackend()
    config, catalog = Config(root=tmp_path), Catalog([Parent])
    first = start_run(Invocation(runbook="unit.parent"), config, surroundings(), catalog)
    assert first is not None and first.outcome.value == "stopped"
    assert _calls(backend) == []  # no rollback, nothing ran
    child = _child_of(tmp_path, first.run_id)
    resumed = resume_run(
        ResumeRequest(first.run_id, RunOptions(yes=True)), config, surroundings(), catalog
    )
    assert resumed.outcome.value == "succeeded"
    assert _calls(backend) == ["migrate now", "after"]
    assert _child_of(tmp_path, first.run_id) == child


def test_the_report_and_history_name_the_link(tmp_path: Path) -> None:
    report, _ = _run(tmp_path, FakeBackend())
    child = _child_of(tmp_path, report.run_id)
    journal = _journal(tmp_path)
    try:
        run = journal.get_run(report.run_id)
        data = report_data(run, journal.transitions(run.id), [], [], {})
        notes = link_notes(journal, journal.runs())
    finally:
        journal.close()
    text = render_report(data)
    assert "## Linked runs" in text
    assert f"- `migrate` started run `{child}` of unit.migrate (succeeded)" in text
    assert notes == {report.run_id: f"children: {child}", child: f"child of {report.run_id}"}


def test_page_dry_run_and_mermaid_show_the_linked_run() -> None:
    page = render_runbook(Release, Contacts())
    assert "Starts a linked run of [`unit.migrate`](../unit/migrate.md)" in page
    assert "- `db` = `app_{env}`" in page
    dry = render_dry_run(ob.plan(Release, Release.Params()))
    assert "starts a linked run of unit.migrate with params db=app_staging, batch=50" in dry
    assert 'step_migrate[["2. Migrate"]]' in render_flow(ob.plan(Release))


def test_without_a_composition_root_a_subrun_refuses_clearly() -> None:
    bound = ob.plan(Release, Release.Params())
    env = StepEnv(
        plan=bound,
        backend=FakeBackend(),
        output=None,  # type: ignore[arg-type]
        notifier=None,  # type: ignore[arg-type]
        clock=None,  # type: ignore[arg-type]
        waits=None,  # type: ignore[arg-type]
        workdir=Path("."),
        emit=lambda _e: None,
        ask=lambda _p, _r: None,  # type: ignore[arg-type,return-value]
    )
    result = run_subrun(bound.get("migrate"), env, RunState("r1"))
    assert not result.ok
    assert "built without a way to start runs" in result.reason


def test_a_subrun_fingerprint_names_the_child_and_its_params() -> None:
    class Other(Release):
        """Release with smaller batches."""

        name = "unit.release_other"
        migrate = ob.SubRun(Migrate, params={"db": "app_{env}", "batch": "10"})

    assert ob.plan(Other).fingerprint != ob.plan(Release).fingerprint


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"db": "x", "nope": "y"}, r"SubRun\(Migrate\) has no param 'nope'; its params: db, batch"),
        ({}, r"SubRun\(Migrate\) needs params db; pass them as params="),
        ({"db": "{missing}"}, r"missing"),
    ],
)
def test_bad_subrun_params_are_definition_errors(params: dict[str, str], message: str) -> None:
    with pytest.raises(ob.DefinitionError, match=message) as caught:

        class Bad(ob.Runbook):
            """Bad."""

            name = "unit.bad_subrun"
            scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
            go = ob.SubRun(Migrate, params=params)

    assert "unit.bad_subrun" in str(caught.value)


def test_a_secret_passed_to_a_plain_child_param_is_a_definition_error() -> None:
    with pytest.raises(ob.DefinitionError, match=r"passes a secret to unit\.migrate's plain"):

        class Leaky(ob.Runbook):
            """Leaky."""

            name = "unit.leaky_subrun"
            scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]

            class Params(ob.Params):
                token: ob.SecretStr

            go = ob.SubRun(Migrate, params={"db": "{token}"})


def test_a_subrun_cycle_is_a_definition_error() -> None:
    class Leaf(ob.Runbook):
        """Leaf."""

        name = "unit.cycle_a"  # the same name as the runbook that starts it below
        scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
        go = ob.Command("true")

    class Middle(ob.Runbook):
        """Middle."""

        name = "unit.cycle_b"
        scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
        go = ob.SubRun(Leaf)

    with pytest.raises(ob.DefinitionError, match=r"SubRun cycle: unit.cycle_a starts"):

        class Top(ob.Runbook):
            """Top."""

            name = "unit.cycle_a"
            scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
            go = ob.SubRun(Middle)


def test_subrun_of_something_not_a_runbook_is_a_definition_error() -> None:
    with pytest.raises(ob.DefinitionError, match="takes a concrete Runbook subclass"):

        class Wrong(ob.Runbook):
            """Wrong."""

            name = "unit.wrong_subrun"
            scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
            go = ob.SubRun(str)  # type: ignore[arg-type]


class Rotate(ob.Runbook):
    """Rotate a credential."""

    name = "unit.rotate"
    scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]

    class Params(ob.Params):
        token: ob.SecretStr

    use = ob.Command("rotate", env={"TOKEN": "{token}"})


class Rotates(ob.Runbook):
    """Rotate the credential as a linked run."""

    name = "unit.rotates"
    scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]

    class Params(ob.Params):
        token: ob.SecretStr

    rotate = ob.SubRun(Rotate, params={"token": "{token}"})


def test_a_secret_reaches_the_child_and_no_record(tmp_path: Path) -> None:
    backend = FakeBackend()
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
    )
    invocation = Invocation(runbook=Rotates.name, params={"token": "s3cr3t-value"})
    report = start_run(invocation, Config(root=tmp_path), surroundings, Catalog([Rotates]))
    assert report is not None and report.outcome.value == "succeeded"
    assert backend.specs[0].env["TOKEN"] == "s3cr3t-value"  # the child got the secret
    dry = render_dry_run(ob.plan(Rotates, Rotates.Params(token=ob.SecretStr("s3cr3t-value"))))
    seen = [out.getvalue(), dry, render_runbook(Rotates, Contacts())]
    journal = _journal(tmp_path)
    try:
        for run in journal.runs():
            seen += [repr(run), repr(journal.transitions(run.id))]
    finally:
        journal.close()
    seen += [p.read_text() for p in (tmp_path / ".opsbooks" / "runs").glob("*.jsonl")]
    assert not [text for text in seen if "s3cr3t-value" in text]


def test_a_subrun_undone_by_a_rollback_links_no_child_any_more() -> None:
    from opsbooks.plan.state import StepStatus as S
    from opsbooks.records.journal import Transition
    from opsbooks.run.subrun import linked_child

    def t(seq: int, status: S, **detail: str) -> Transition:
        return Transition(seq, "p", "migrate", status, at=float(seq), detail=dict(detail))

    linked = [t(1, S.RUNNING), t(2, S.RUNNING, child_run="c1"), t(3, S.SUCCEEDED, child_run="c1")]
    assert linked_child(linked, "migrate") == "c1"
    assert linked_child(linked, "deploy") is None
    undone = [*linked, t(4, S.COMPENSATING), t(5, S.COMPENSATED)]
    assert linked_child(undone, "migrate") is None  # resume starts a new child
    again = [*undone, t(6, S.RUNNING), t(7, S.RUNNING, child_run="c2")]
    assert linked_child(again, "migrate") == "c2"


class UndoableRelease(ob.Runbook):
    """Release, undoing the migration if the deploy fails."""

    name = "unit.undoable_release"
    scope, owner, last_reviewed = _DOCS["scope"], _DOCS["owner"], _DOCS["last_reviewed"]
    migrate = ob.SubRun(Migrate, params={"db": "app"}, undo="unmigrate")
    unmigrate = ob.Command("unmigrate app")
    deploy = ob.Command("deploy app")


def test_a_rolled_back_subrun_starts_a_new_child_on_resume(tmp_path: Path) -> None:
    first, _ = _run(
        tmp_path, FakeBackend(answers={"deploy": (1, "boom\n")}), catalog=[UndoableRelease]
    )
    assert first.outcome.value == "rolled_back"
    old = _child_of(tmp_path, first.run_id)
    backend = FakeBackend()
    second, _ = _run(tmp_path, backend, resume=first.run_id, catalog=[UndoableRelease])
    assert second.outcome.value == "succeeded"
    assert _calls(backend) == ["backup app", "migrate app --batch 100", "deploy app"]
    journal = _journal(tmp_path)
    try:
        links = [
            t.detail["child_run"]
            for t in journal.transitions(first.run_id)
            if "child_run" in t.detail
        ]
        assert len(journal.runs("unit.migrate")) == 2
    finally:
        journal.close()
    assert links[0] == old and links[-1] != old  # undone, so run again as a new child


def test_a_child_resumed_on_its_own_is_taken_as_done_by_the_parent(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, FakeBackend(answers={"migrate": (1, "lock timeout\n")}))
    child = _child_of(tmp_path, first.run_id)
    alone, _ = _run(tmp_path, FakeBackend(), resume=child, catalog=[Release, Migrate])
    assert (alone.run_id, alone.outcome.value) == (child, "succeeded")
    backend = FakeBackend()
    second, out = _run(tmp_path, backend, resume=first.run_id)
    assert second.outcome.value == "succeeded"
    assert _calls(backend) == ["deploy staging"]
    assert f"linked run {child} already succeeded; not run again" in out
