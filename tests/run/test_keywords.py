"""The keywords every step kind shares, against fakes: notes, tags, failure policy,
setup and re-run steps, quiet output; each journaled, and each across a resume.

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
from opsbooks.render.report import render_markdown, report_data
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend, FakeHosts


class Maintenance(ob.Runbook):
    """Clear the caches and restart the app.

    Every step uses one of the shared keywords.
    """

    name = "unit.keywords"
    scope = "keyword unit tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(ob.Params):
        app: str = "shop"
        token: ob.SecretStr

    login = ob.Command("login {app}", setup=True, note="Logging in to {app} as {token}")
    probe = ob.Command("probe {app}", rerun_on_resume=True, outputs=("version",))
    warm = ob.Command("warm-cache {app}", on_failure="continue", tags=("cache",))
    restart = ob.Command(
        "restart {app}",
        tags=("restart", "prod"),
        note="Restarting {app} at {outputs.version}...",
        undo=ob.Command("rollback-restart {app}"),
    )
    noisy = ob.Command("noisy {app}", quiet=True, tags="prod")
    migrate = ob.Command("migrate {app}", on_failure="stop")


def _surroundings(backend: FakeBackend, **more: Any) -> tuple[Surroundings, io.StringIO]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit", "OPSBOOKS_SECRET_TOKEN": "hunter2-token"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        **more,
    )
    return surroundings, out


def _backend(**answers: tuple[int, str]) -> FakeBackend:
    scripted = {"probe": (0, "::output version=1.2\n"), "noisy": (0, "chatter-line\n")}
    return FakeBackend(answers={**scripted, **{k.replace("_", "-"): v for k, v in answers.items()}})


def _start(root: Path, backend: FakeBackend, **options: Any) -> tuple[RunReport, str]:
    surroundings, out = _surroundings(backend, scripted=options.pop("scripted", {}))
    report = start_run(
        Invocation(runbook=Maintenance.name, params={}, options=RunOptions(**options)),
        Config(root=root),
        surroundings,
        Catalog([Maintenance]),
    )
    assert report is not None
    return report, out.getvalue()


def _resume(root: Path, run_id: str, backend: FakeBackend, **options: Any) -> tuple[RunReport, str]:
    surroundings, out = _surroundings(backend, scripted=options.pop("scripted", {}))
    request = ResumeRequest(run_id=run_id, options=RunOptions(**options))
    report = resume_run(request, Config(root=root), surroundings, Catalog([Maintenance]))
    return report, out.getvalue()


def _transitions(root: Path, run_id: str) -> list[Transition]:
    journal = open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}")
    try:
        return journal.transitions(run_id)
    finally:
        journal.close()


def _calls(backend: FakeBackend) -> list[str]:
    return [command for command, _ in backend.calls]


# -- notes ------------------------------------------------------------------------------


def test_a_note_is_printed_as_its_step_starts_bound_and_redacted(tmp_path: Path) -> None:
    report, out = _start(tmp_path, _backend())
    assert report.outcome.value == "succeeded"
    assert "    Logging in to shop as *****" in out
    assert "hunter2-token" not in out
    lines = out.splitlines()
    start = lines.index("[4/6] restart: Restart (command)")
    assert lines[start + 1 : start + 3] == ["    $ restart shop", "    Restarting shop at 1.2..."]


def test_a_note_is_journaled_in_the_running_record_and_in_the_audit(tmp_path: Path) -> None:
    report, _ = _start(tmp_path, _backend())
    running = {t.step_id: t.detail for t in _transitions(tmp_path, report.run_id)}
    notes = [
        t.detail.get("note") for t in _transitions(tmp_path, report.run_id) if t.detail.get("note")
    ]
    assert notes == ["Logging in to shop as *****", "Restarting shop at 1.2..."]
    assert "note" not in running["warm"]
    audit = tmp_path / ".opsbooks" / "runs" / f"{report.run_id}.jsonl"
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    noted = [(e["step"], e["text"]) for e in events if e["event"] == "step_note"]
    assert noted == [("login", "Logging in to shop as *****"), ("restart", notes[1])]
    assert "hunter2-token" not in audit.read_text()


def test_the_run_prints_the_purpose_line_under_its_first_line(tmp_path: Path) -> None:
    _, out = _start(tmp_path, _backend())
    lines = out.splitlines()
    assert lines[0].startswith("Running unit.keywords as run ")
    assert lines[1] == "  Clear the caches and restart the app."


def test_the_report_lists_the_notes(tmp_path: Path) -> None:
    report, _ = _start(tmp_path, _backend())
    journal = open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}")
    try:
        record = journal.get_run(report.run_id)
        data = report_data(record, journal.transitions(report.run_id), [], [], {})
    finally:
        journal.close()
    text = render_markdown(data)
    assert "### Notes" in text
    assert "- `restart`: Restarting shop at 1.2..." in text


# -- tags -------------------------------------------------------------------------------


def test_only_tags_runs_the_tagged_steps_and_the_setup_step(tmp_path: Path) -> None:
    backend = _backend()
    report, out = _start(tmp_path, backend, only_tags=("cache",))
    assert report.outcome.value == "succeeded"
    assert _calls(backend) == ["login shop", "warm-cache shop"]
    skipped = {t.step_id: t.reason for t in _transitions(tmp_path, report.run_id)}
    assert skipped["restart"] == "not tagged cache (--only-tags)"
    assert "    migrate: skipped (not tagged cache (--only-tags))" in out


def test_skip_tags_takes_comma_lists_and_skips_the_tagged_steps(tmp_path: Path) -> None:
    backend = _backend()
    report, _ = _start(tmp_path, backend, skip_tags=("cache,prod",))
    assert report.outcome.value == "succeeded"
    assert _calls(backend) == ["login shop", "probe shop", "migrate shop"]
    reasons = {t.step_id: t.reason for t in _transitions(tmp_path, report.run_id)}
    assert reasons["restart"] == "tagged prod (--skip-tags)"
    assert reasons["noisy"] == "tagged prod (--skip-tags)"


def test_a_tag_no_step_has_is_bad_input_listing_the_tags(tmp_path: Path) -> None:
    with pytest.raises(ob.BadInput, match=r"--only-tags restrat: .*its tags are: cache, prod"):
        _start(tmp_path, _backend(), only_tags=("restrat",))


def test_the_tag_selection_is_kept_for_resume(tmp_path: Path) -> None:
    first, _ = _start(tmp_path, _backend(migrate=(1, "locked\n")), skip_tags=("prod",))
    assert first.outcome.value == "failed"
    backend = _backend()
    report, _ = _resume(tmp_path, first.run_id, backend)
    assert report.outcome.value == "succeeded"
    assert "restart shop" not in _calls(backend)  # still skipped by the recorded --skip-tags


# -- failure policy -----------------------------------------------------------------------


def test_continue_goes_on_and_ends_succeeded_with_warnings_exit_0(tmp_path: Path) -> None:
    backend = _backend(warm_cache=(1, "cache cold\n"))
    report, out = _start(tmp_path, backend)
    assert report.outcome.value == "succeeded_with_warnings" and report.exit_code == 0
    assert report.steps["warm"].value == "failed" and report.steps["migrate"].value == "succeeded"
    assert "warm failed (exit code 1: cache cold)" in report.reason
    assert "Run succeeded_with_warnings" in out and "to resume" not in out
    failed = [t for t in _transitions(tmp_path, report.run_id) if t.step_id == "warm"][-1]
    assert failed.detail["on_failure"] == "continue"
    with pytest.raises(ob.OpsbooksError, match=r"succeeded with warnings.*--start-at STEP"):
        _resume(tmp_path, report.run_id, _backend())


def test_stop_fails_without_a_rollback_and_resume_runs_it_again(tmp_path: Path) -> None:
    backend = _backend(migrate=(1, "locked\n"))
    report, out = _start(tmp_path, backend)
    assert report.outcome.value == "failed" and report.failed_step == "migrate"
    assert not any(c.startswith("rollback-restart") for c in _calls(backend))
    assert "declares on_failure='stop': no rollback" in out
    again = _backend()
    resumed, _ = _resume(tmp_path, report.run_id, again)
    assert resumed.outcome.value == "succeeded"
    assert "migrate shop" in _calls(again) and "restart shop" not in _calls(again)


def test_a_continued_failure_stays_failed_on_resume(tmp_path: Path) -> None:
    first, _ = _start(tmp_path, _backend(warm_cache=(1, "cold\n"), migrate=(1, "locked\n")))
    assert first.outcome.value == "failed"
    backend = _backend()
    report, _ = _resume(tmp_path, first.run_id, backend)
    assert "warm-cache shop" not in _calls(backend)
    assert report.outcome.value == "succeeded_with_warnings" and report.exit_code == 0
    assert report.steps["warm"].value == "failed"


def test_step_mode_offers_a_continued_failure_again_on_resume(tmp_path: Path) -> None:
    first, _ = _start(tmp_path, _backend(warm_cache=(1, "cold\n"), migrate=(1, "locked\n")))
    backend = _backend()
    surroundings, out = _surroundings(backend)
    terminal = Surroundings(
        **{**vars(surroundings), "interactive": True, "stdin": io.StringIO("continue\n" * 9)}
    )
    request = ResumeRequest(run_id=first.run_id, options=RunOptions(step_mode=True))
    report = resume_run(request, Config(root=tmp_path), terminal, Catalog([Maintenance]))
    assert "warm-cache shop" in _calls(backend)  # asked about, and the operator re-ran it
    assert report.outcome.value == "succeeded"
    assert "Next: warm (command)" in out.getvalue()


def test_the_default_failure_policy_still_rolls_back(tmp_path: Path) -> None:
    backend = _backend(noisy=(1, "boom\n"))
    report, _ = _start(tmp_path, backend)
    assert report.outcome.value == "rolled_back"
    assert "rollback-restart shop" in _calls(backend)


# -- setup, re-run on resume, quiet ------------------------------------------------------


def test_a_setup_step_runs_even_with_start_at(tmp_path: Path) -> None:
    backend = _backend()
    report, _ = _start(tmp_path, backend, start_at="noisy")
    assert _calls(backend) == ["login shop", "noisy shop", "migrate shop"]
    assert report.steps["probe"].value == "skipped"


def test_setup_and_rerun_steps_run_again_on_resume_with_fresh_outputs(tmp_path: Path) -> None:
    first, _ = _start(tmp_path, _backend(migrate=(1, "locked\n")))
    backend = FakeBackend(answers={"probe": (0, "::output version=1.3\n")})
    report, _ = _resume(tmp_path, first.run_id, backend)
    assert _calls(backend) == ["login shop", "probe shop", "migrate shop"]
    assert report.outputs["version"] == "1.3"
    history = [(t.step_id, t.status.value) for t in _transitions(tmp_path, first.run_id)]
    assert history.count(("login", "running")) == 2 and history.count(("probe", "running")) == 2
    assert history.count(("restart", "running")) == 1  # done, and not a probe: never again


def test_a_quiet_steps_output_is_journaled_but_not_on_the_console(tmp_path: Path) -> None:
    report, out = _start(tmp_path, _backend())
    assert "chatter-line" not in out
    tails = {t.step_id: t.output_tail for t in _transitions(tmp_path, report.run_id)}
    assert "chatter-line" in tails["noisy"]
    assert "| ::output version=1.2" in out  # a step that is not quiet streams as before


# -- a note per host ------------------------------------------------------------------------


class Nginx(ob.Runbook):
    """Restart nginx on every web host."""

    name = "unit.nginx_notes"
    scope, owner, last_reviewed = "keyword unit tests", "sre", dt.date(2026, 11, 1)

    restart = ob.Remote(
        "service nginx restart", role="web", note="Restarting nginx on {host.name}..."
    )


def test_a_note_naming_the_host_is_printed_once_per_host(tmp_path: Path) -> None:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=FakeBackend(),
        hosts=FakeHosts(),
        install_signal_handlers=False,
    )
    hosts = {"web1": {"roles": ["web"]}, "web2": {"roles": ["web"]}}
    report = start_run(
        Invocation(runbook=Nginx.name, params={}, options=RunOptions()),
        Config(root=tmp_path, hosts=hosts),
        surroundings,
        Catalog([Nginx]),
    )
    assert report is not None and report.outcome.value == "succeeded"
    lines = out.getvalue().splitlines()
    assert "    web1: Restarting nginx on web1..." in lines
    assert "    web2: Restarting nginx on web2..." in lines
    assert not any("{host.name}" in line for line in lines)  # not once with the placeholder
    (running,) = [t for t in _transitions(tmp_path, report.run_id) if t.status.value == "running"]
    assert running.detail["note"] == "Restarting nginx on {host.name}..."


def test_the_invoke_task_takes_the_tag_flags_from_the_one_declaration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    from invoke import Program

    from opsbooks.edges.tasks import collection

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPSBOOKS_SECRET_TOKEN", "hunter2-token")
    namespace = collection(Config(root=tmp_path, packages=[]), catalog=Catalog([Maintenance]))
    out = io.StringIO()
    argv = ["invoke", Maintenance.name, "--dry-run", "--only-tags", "cache", "--skip-tags", "prod"]
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        Program(namespace=namespace, binary="invoke").run(argv, exit=True)
    assert "       skipped: not tagged cache (--only-tags)" in out.getvalue()
    assert "       skipped: tagged prod (--skip-tags)" not in out.getvalue()  # --only-tags first
    assert "       on failure: continue (the run goes on, and ends with warnings)" in out.getvalue()
