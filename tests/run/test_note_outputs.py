"""A note is text for people: an output it names that is not there never fails the
step. A selection that leaves out the publisher of an output a selected step's command
needs is bad input, said before any step runs (run, dry run and resume).

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
from opsbooks.testing.fakes import FakeBackend, FakeHosts


class Restart(ob.Runbook):
    """Restart the shop; its note names an output of an untagged step."""

    name = "unit.note_outputs"
    scope, owner, last_reviewed = "note unit tests", "sre", dt.date(2026, 11, 1)

    class Params(ob.Params):
        app: str = "shop"

    version = ob.Command("probe {app}", outputs=("version",))
    restart = ob.Command(
        "restart {app}", tags="restart", note="Restarting {app} {outputs.version}..."
    )
    build = ob.Command("build {app}", outputs=("artifact",), tags="build")
    deploy = ob.Command("deploy {outputs.artifact}", tags="deploy")


def _run(root: Path, backend: FakeBackend, **options: Any) -> tuple[RunReport | None, str]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
    )
    invocation = Invocation(runbook=Restart.name, params={}, options=RunOptions(**options))
    report = start_run(invocation, Config(root=root), surroundings, Catalog([Restart]))
    return report, out.getvalue()


def _backend(**more: tuple[int, str]) -> FakeBackend:
    return FakeBackend(
        answers={"probe": (0, "::output version=1.2\n"), "build": (0, "::output artifact=a1\n")}
        | more
    )


def test_a_note_naming_a_skipped_steps_output_shows_a_placeholder(tmp_path: Path) -> None:
    backend = _backend()
    report, out = _run(tmp_path, backend, only_tags=("restart",))
    assert report is not None and report.outcome.value == "succeeded"
    assert [c for c, _ in backend.calls] == ["restart shop"]
    assert "    Restarting shop {outputs.version: not available}..." in out


def test_a_note_still_binds_the_output_when_it_is_there(tmp_path: Path) -> None:
    report, out = _run(tmp_path, _backend(), only_tags=("restart", "build", "deploy"))
    assert report is not None and report.outcome.value == "succeeded"
    assert "    Restarting shop {outputs.version: not available}..." in out
    report, out = _run(tmp_path, _backend(), skip_tags=("build", "deploy"))
    assert report is not None and "    Restarting shop 1.2..." in out


def test_a_left_out_publisher_of_a_command_output_is_bad_input(tmp_path: Path) -> None:
    backend = _backend()
    with pytest.raises(ob.BadInput) as caught:
        _run(tmp_path, backend, only_tags=("deploy",))
    message = str(caught.value)
    assert "step 'deploy' needs output 'artifact', which step 'build' publishes" in message
    assert "add --only-tags deploy,build" in message
    assert backend.calls == []


def test_the_dry_run_says_so_too(tmp_path: Path) -> None:
    with pytest.raises(ob.BadInput, match=r"'build' is left out .*--skip-tags"):
        _run(tmp_path, _backend(), skip_tags=("build",), dry_run=True)


def test_skip_and_start_at_name_their_own_fix(tmp_path: Path) -> None:
    with pytest.raises(ob.BadInput, match=r"do not --skip build"):
        _run(tmp_path, _backend(), skip=("build",))
    with pytest.raises(ob.BadInput, match=r"--start-at build"):
        _run(tmp_path, _backend(), start_at="deploy")


def test_resume_allows_a_publisher_that_already_succeeded(tmp_path: Path) -> None:
    first, _ = _run(tmp_path, _backend(deploy=(1, "busy\n")), only_tags=("build", "deploy"))
    assert first is not None and first.outcome.value == "failed"
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=(backend := _backend()),
        install_signal_handlers=False,
    )
    request = ResumeRequest(run_id=first.run_id, options=RunOptions())
    report = resume_run(request, Config(root=tmp_path), surroundings, Catalog([Restart]))
    assert report.outcome.value == "succeeded"
    assert "deploy a1" in [c for c, _ in backend.calls]


def _guide_restart_shop() -> type[ob.Runbook]:
    """The RestartShop example of the writing-runbooks guide, defined as written."""
    guide = Path(__file__).resolve().parents[2] / "docs" / "guides" / "writing-runbooks.md"
    text = guide.read_text(encoding="utf-8")
    source = text[text.index("## Keywords every step takes") :].split("```python\n")[1]
    namespace: dict[str, Any] = {"__name__": "guide_keywords_run"}
    exec(compile(source.split("```")[0], str(guide), "exec"), namespace)
    book: type[ob.Runbook] = namespace["RestartShop"]
    return book


def _run_on_hosts(root: Path, book: type[ob.Runbook], backend: FakeBackend) -> tuple[Any, str]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        hosts=FakeHosts(),
        install_signal_handlers=False,
    )
    invocation = Invocation(
        runbook=book.name, params={}, options=RunOptions(only_tags=("restart",))
    )
    hosts = {"web1": {"roles": ["web"]}}
    report = start_run(invocation, Config(root=root, hosts=hosts), surroundings, Catalog([book]))
    return report, out.getvalue()


def test_the_guides_restart_shop_example_runs_with_only_tags_restart(tmp_path: Path) -> None:
    book = _guide_restart_shop()
    backend = FakeBackend(answers={"echo ::output": (0, "::output version=4.2\n")})
    report, out = _run_on_hosts(tmp_path, book, backend)
    assert report is not None and report.outcome.value == "succeeded", out
    assert "    web1: Restarting shop 4.2 on web1..." in out


def test_a_per_host_note_naming_a_skipped_output_shows_a_placeholder(tmp_path: Path) -> None:
    class Untagged(ob.Runbook):  # the guide's example as it was: `version` untagged
        """Restart the shop."""

        name = "unit.untagged_version"
        scope, owner, last_reviewed = "note unit tests", "sre", dt.date(2026, 11, 1)
        version = ob.Command("probe", outputs=("version",))
        restart = ob.Remote(
            "systemctl restart shop",
            role="web",
            tags="restart",
            note="Restarting {outputs.version} on {host.name}...",
        )

    report, out = _run_on_hosts(tmp_path, Untagged, FakeBackend())
    assert report is not None and report.outcome.value == "succeeded", out
    assert "    web1: Restarting {outputs.version: not available} on web1..." in out
