"""Gate options against fakes: optional confirms, ``--yes`` defaults, bare yes/no answers.

In-process with ``FakeBackend`` and a real SQLite journal in a temp dir.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define.contacts import Contacts
from opsbooks.edges.answers import load_answers
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, ResumeRequest, Surroundings, resume_run, start_run
from opsbooks.errors import DefinitionError
from opsbooks.records.journal import open_journal
from opsbooks.render.dryrun import render_dry_run
from opsbooks.render.markdown import render_runbook
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend


class Optional(ob.Runbook):
    """Deploy; warm the cache only if the operator wants to; ask the batch size."""

    name = "unit.optional"
    scope = "gate option tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    batch = ob.Gate.ask("Batch size?", int, default=5, yes_default=True)
    deploy = ob.Command("deploy")
    warm = ob.Gate.confirm("Warm the cache?", on_decline="skip")
    warm_cache = ob.Command("warm cache", when="warm")
    announce = ob.Command("announce done")


def _surroundings(backend: FakeBackend, **more: Any) -> tuple[Surroundings, io.StringIO]:
    out = io.StringIO()
    return (
        Surroundings(
            stdin=io.StringIO(),
            stdout=out,
            environ={"OPSBOOKS_USER": "unit"},
            interactive=False,
            backend=backend,
            install_signal_handlers=False,
            **more,
        ),
        out,
    )


def _run(root: Path, backend: FakeBackend, **options: Any) -> RunReport:
    surroundings, _ = _surroundings(backend, scripted=options.pop("scripted", None))
    report = start_run(
        Invocation(runbook=Optional.name, options=RunOptions(**options)),
        Config(root=root),
        surroundings,
        Catalog([Optional]),
    )
    assert report is not None
    return report


def _rows(root: Path, run_id: str) -> list[tuple[str, str, str]]:
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        return [(t.step_id, t.status.value, t.reason or "") for t in journal.transitions(run_id)]
    finally:
        journal.close()


def test_a_declined_optional_gate_records_no_and_skips_only_its_steps(tmp_path: Path) -> None:
    backend = FakeBackend()
    report = _run(tmp_path, backend, scripted={"batch": 2, "warm": "no"})
    assert report.outcome.value == "succeeded" and report.exit_code == 0
    assert report.answers["warm"] is False
    ran = [c for c, _ in backend.calls]
    assert "warm cache" not in ran and ran[-1] == "announce done"
    rows = _rows(tmp_path, report.run_id)
    assert ("warm", "succeeded", "") in rows
    assert any(r[0] == "warm_cache" and r[1] == "skipped" for r in rows)


def test_an_approved_optional_gate_runs_its_steps(tmp_path: Path) -> None:
    backend = FakeBackend()
    report = _run(tmp_path, backend, scripted={"batch": 2, "warm": True})
    assert report.outcome.value == "succeeded"
    assert "warm cache" in [c for c, _ in backend.calls]


def test_the_declined_answer_is_replayed_on_resume(tmp_path: Path) -> None:
    backend = FakeBackend(answers={"announce": (1, "channel down\n")})
    first = _run(tmp_path, backend, scripted={"batch": 2, "warm": "no"}, no_rollback=True)
    assert first.outcome.value == "failed" and first.failed_step == "announce"
    again = FakeBackend()
    surroundings, _ = _surroundings(again)
    resumed = resume_run(
        ResumeRequest(first.run_id, RunOptions()),
        Config(root=tmp_path),
        surroundings,
        Catalog([Optional]),
    )
    assert resumed.outcome.value == "succeeded"
    assert [c for c, _ in again.calls] == ["announce done"]  # not asked, not warmed
    assert resumed.answers["warm"] is False


def test_yes_answers_an_ask_with_its_default_only_when_it_says_so(tmp_path: Path) -> None:
    backend = FakeBackend()
    report = _run(tmp_path, backend, yes=True)
    assert report.outcome.value == "succeeded"
    assert report.answers["batch"] == 5 and report.answers["warm"] is True
    assert "warm cache" in [c for c, _ in backend.calls]


def test_yes_still_stops_at_an_ask_without_yes_default(tmp_path: Path) -> None:
    class Asks(ob.Runbook):
        """Ask without a --yes default."""

        name = "unit.asks"
        scope = "tests"
        owner = "sre"
        last_reviewed = "2026-11-01"
        size = ob.Gate.ask("Size?", int, default=5)
        go = ob.Command("go")

    surroundings, _ = _surroundings(FakeBackend())
    report = start_run(
        Invocation(runbook=Asks.name, options=RunOptions(yes=True)),
        Config(root=tmp_path),
        surroundings,
        Catalog([Asks]),
    )
    assert report is not None and report.outcome.value == "stopped"
    assert report.exit_code == 3 and "size" in report.reason


def test_bare_yes_and_no_in_a_yaml_answers_file_answer_confirms(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text("batch: 3\nwarm: no\n")
    answers = load_answers(path)
    assert answers == {"batch": 3, "warm": False}  # YAML 1.1 booleans, after parsing
    backend = FakeBackend()
    report = _run(tmp_path, backend, answers=path)
    assert report.outcome.value == "succeeded" and report.answers["warm"] is False
    path.write_text("batch: 3\nwarm: yes\n")
    assert _run(tmp_path, FakeBackend(), answers=path).answers["warm"] is True


def test_a_bare_yes_for_a_text_ask_says_to_quote_it(tmp_path: Path) -> None:
    class Named(ob.Runbook):
        """Ask a name."""

        name = "unit.named"
        scope = "tests"
        owner = "sre"
        last_reviewed = "2026-11-01"
        who = ob.Gate.ask("Who?")

    path = tmp_path / "answers.yaml"
    path.write_text("who: yes\n")
    surroundings, _ = _surroundings(FakeBackend())
    with pytest.raises(ob.AnswersError, match=re.escape("in YAML, quote it: 'yes'")) as caught:
        start_run(
            Invocation(runbook=Named.name, options=RunOptions(answers=path)),
            Config(root=tmp_path),
            surroundings,
            Catalog([Named]),
        )
    assert caught.value.exit_code == 2


def test_the_page_and_the_dry_run_say_what_the_options_do() -> None:
    page = render_runbook(Optional, Contacts())
    assert "Optional: declining records the answer no, skips `warm_cache`, and the run goes on" in (
        page
    )
    assert "With `--yes`: answered with the default `5`" in page
    dry = render_dry_run(ob.plan(Optional, Optional.Params()))
    assert "optional: declining records the answer no" in dry
    assert "with `--yes`: answered with the default `5`" in dry


def test_gate_options_that_use_none_keep_the_fingerprint() -> None:
    def book(extra: str) -> type[ob.Runbook]:
        namespace: dict[str, Any] = {"ob": ob}
        exec(
            textwrap.dedent(
                f"""
                class Book(ob.Runbook):
                    '''A gate.'''
                    name = "unit.fp"
                    scope = "tests"
                    owner = "sre"
                    last_reviewed = "2026-11-01"
                    go = ob.Gate.confirm("Go?"{extra})
                """
            ),
            namespace,
        )
        return namespace["Book"]  # type: ignore[no-any-return]

    plain = ob.plan(book("")).fingerprint
    assert ob.plan(book(', on_decline="stop"')).fingerprint == plain
    assert ob.plan(book(', on_decline="skip"')).fingerprint != plain


@pytest.mark.parametrize(
    ("gate", "said"),
    [
        ('ob.Gate.ask("N?", int, on_decline="skip")', "on_decline='skip' is for confirmations"),
        ('ob.Gate.confirm("Go?", on_decline="later")', "on_decline='later'; use 'stop' or 'skip'"),
        (
            'ob.Gate.confirm("Go?", on_decline="skip", rollback_on_decline=True)',
            "keep one of them",
        ),
        ('ob.Gate.ask("N?", int, yes_default=True)', "yes_default=True needs default="),
        ('ob.Gate.confirm("Go?", yes_default=True)', "--yes already approves a confirmation"),
        ('ob.Gate.ask("T?", secret=True, default="x", yes_default=True)', "cannot have a --yes"),
        ('ob.Gate.choose("Where?", ["a", "b"], default="c", yes_default=True)', "not one of"),
    ],
)
def test_contradictory_gate_options_are_definition_errors(gate: str, said: str) -> None:
    source = textwrap.dedent(
        f"""
        class Bad(ob.Runbook):
            '''A wrong gate.'''
            name = "unit.bad_gate"
            scope = "tests"
            owner = "sre"
            last_reviewed = "2026-11-01"
            ask_it = {gate}
        """
    )
    with pytest.raises(DefinitionError, match=re.escape(said)) as caught:
        exec(source, {"ob": ob})
    assert "runbook unit.bad_gate, step 'ask_it'" in str(caught.value)


class Sectioned(ob.Runbook):
    """Deploy; an optional section warms the caches; announce."""

    name = "unit.sectioned_optional"
    scope = "gate option tests"
    owner = "sre"
    last_reviewed = "2026-11-01"

    deploy = ob.Command("deploy")

    class warm(ob.Section):
        """Warm the caches"""

        go = ob.Gate.confirm("Warm the caches?", on_decline="skip")
        fill = ob.Command("fill cache")
        check = ob.Command("check cache")

    announce = ob.Command("announce done")


def test_a_declined_optional_gate_in_a_section_skips_the_rest_of_that_section(
    tmp_path: Path,
) -> None:
    backend = FakeBackend()
    surroundings, out = _surroundings(backend, scripted={"warm.go": "no"})
    report = start_run(
        Invocation(runbook=Sectioned.name),
        Config(root=tmp_path),
        surroundings,
        Catalog([Sectioned]),
    )
    assert report is not None and report.outcome.value == "succeeded"
    assert [c for c, _ in backend.calls] == ["deploy", "announce done"]
    why = "optional gate warm.go was declined: the rest of section warm is skipped"
    rows = _rows(tmp_path, report.run_id)
    assert ("warm.fill", "skipped", why) in rows and ("warm.check", "skipped", why) in rows
    assert why in out.getvalue()
    page = render_runbook(Sectioned, Contacts())
    assert "skips `warm.fill`, `warm.check`, and the run goes on" in page
