"""What a new user found reading pages, dry runs, prompts and reports of issue 14's features.

Fast tier: pages and dry runs are pure; the runs are in-process with ``FakeBackend``,
``FakeHosts`` and a real SQLite journal in a temp dir.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import opsbooks as ob
from opsbooks.define.contacts import Contacts
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.records.journal import open_journal
from opsbooks.render.dryrun import render_dry_run
from opsbooks.render.markdown import render_runbook
from opsbooks.render.report import render_markdown, report_data
from opsbooks.run.gates import GateRequest, TerminalPrompter
from opsbooks.testing import FakeClock
from opsbooks.testing.fakes import FakeBackend, FakeHosts

DOC: dict[str, Any] = {"scope": "tests", "owner": "sre", "last_reviewed": dt.date(2026, 12, 1)}


class Optional(ob.Runbook):
    """Deploy; the caches only if wanted; a token asked each time."""

    name = "unit.optional_parts"
    scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]

    class Params(ob.Params):
        environment: str = "prod"

    token = ob.Gate.ask("Paste the deploy token", secret=True)
    deploy = ob.Command("deploy")
    warm = ob.Gate.confirm("Warm the caches as well?", on_decline="skip")
    warm_caches = ob.Command("warm-caches", when="warm")
    cold_start = ob.Command("cold-start", when="not warm")  # runs after a no
    tell_prod = ob.Command("tell", when='answers.warm and environment == "prod"')
    announce = ob.Command("announce")


def test_the_dry_run_lists_what_a_no_skips_as_the_page_does() -> None:
    dry = render_dry_run(ob.plan(Optional, Optional.Params()))
    said = "skips `warm_caches`, `tell_prod`, and the run goes on"
    assert f"optional: declining records the answer no, {said}" in dry
    assert f"Optional: declining records the answer no, {said}" in (
        render_runbook(Optional, Contacts())
    )


def test_a_step_whose_condition_holds_after_a_no_is_not_listed_and_runs(tmp_path: Path) -> None:
    backend = FakeBackend()
    surroundings = Surroundings(
        stdin=io.StringIO("no\n"),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        scripted={"token": "t0ken", "warm": "no"},
    )
    report = start_run(
        Invocation(runbook=Optional.name), Config(root=tmp_path), surroundings, Catalog([Optional])
    )
    assert report is not None and report.outcome.value == "succeeded", report
    assert [c for c, _ in backend.calls] == ["deploy", "cold-start", "announce"]


def test_a_secret_gate_says_so_on_the_page_and_in_the_dry_run() -> None:
    page = render_runbook(Optional, Contacts())
    assert "- Secret: never stored, asked again on resume" in page
    dry = render_dry_run(ob.plan(Optional, Optional.Params()))
    token = dry.split("token: Token", 1)[1].split("deploy: Deploy", 1)[0]
    assert "secret: never stored, asked again on resume" in token


def test_an_optional_confirm_says_what_a_no_skips_at_the_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO("t0ken\nno\n"),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=True,
        backend=FakeBackend(),
        install_signal_handlers=False,
    )
    report = start_run(
        Invocation(runbook=Optional.name), Config(root=tmp_path), surroundings, Catalog([Optional])
    )
    assert report is not None and report.outcome.value == "succeeded", out.getvalue()
    assert "Approve? [y/n] (no skips warm_caches, tell_prod; the run goes on): " in out.getvalue()


def test_a_plain_confirm_keeps_its_question() -> None:
    out = io.StringIO()
    prompter = TerminalPrompter(io.StringIO("y\n"), out, "op")
    prompter.answer(GateRequest(step_id="go", kind="confirm", prompt="Go?"))
    assert "Approve? [y/n]: " in out.getvalue() and "skips" not in out.getvalue()


class RestartApp(ob.Runbook):
    """Restart the app on one host."""

    name = "unit.restart_app"
    scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]

    class Params(ob.Params):
        host: str

    stop = ob.Command("echo app stop {host} for {runbook}", undo="start")
    start = ob.Command("app start {host}")


class Maintain(ob.Runbook):
    """Restart the app of a host, by an included runbook."""

    name = "unit.maintain"
    scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]

    class Params(ob.Params):
        target: str = "web1"

    restart = ob.Include(RestartApp, params={"host": "{target}.internal"})


def test_an_include_page_says_what_the_childs_placeholders_stand_for() -> None:
    page = render_runbook(Maintain, Contacts())
    section = page.split('<a id="section-restart"></a>', 1)[1].split("step-restart.stop", 1)[0]
    note = (
        "show the placeholders of `unit.restart_app` itself: read `{host}` as `{target}.internal`"
    )
    assert note in section
    undo = page.split("### Undo: Start", 1)[1].split("## ", 1)[0]
    assert "In [Restart App](#section-restart), read `{host}` as `{target}.internal`." in undo
    assert "echo app stop {host} for unit.maintain" in page  # the child's template, noted


class Nginx(ob.Runbook):
    """Stop nginx on the web hosts, with a note per host."""

    name = "unit.nginx_notes"
    scope, owner, last_reviewed = DOC["scope"], DOC["owner"], DOC["last_reviewed"]

    stop = ob.Remote("service nginx stop", role="web", note="Stopping nginx on {host.name}")
    tell = ob.Command("tell", note="All stopped")


def test_the_report_shows_a_host_note_once_per_host_bound(tmp_path: Path) -> None:
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=FakeBackend(),
        hosts=FakeHosts(),
        waits=FakeClock(),
        install_signal_handlers=False,
    )
    hosts = {"web1": {"roles": ["web"]}, "web2": {"roles": ["web"]}}
    report = start_run(
        Invocation(runbook=Nginx.name),
        Config(root=tmp_path, hosts=hosts),
        surroundings,
        Catalog([Nginx]),
    )
    assert report is not None and report.outcome.value == "succeeded", report.reason
    journal = open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}")
    try:
        data = report_data(
            journal.get_run(report.run_id),
            journal.transitions(report.run_id),
            journal.gates(report.run_id),
            journal.host_results(report.run_id),
            {},
        )
    finally:
        journal.close()
    notes = render_markdown(data).split("### Notes", 1)[1].split("\n## ", 1)[0]
    assert "- `stop` on web1: Stopping nginx on web1" in notes
    assert "- `stop` on web2: Stopping nginx on web2" in notes
    assert "{host.name}" not in notes
    assert "- `tell`: All stopped" in notes
