"""The hook and gate-option examples in the guides run as the guides say they do."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.run.options import RunOptions
from opsbooks.run.outcome import RunReport
from opsbooks.testing.fakes import FakeBackend

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "guides"


def _block(page: str, heading: str, language: str = "python") -> str:
    text = (GUIDES / page).read_text(encoding="utf-8")
    found = re.search(rf"^```{language}\n(.*?)^```", text[text.index(heading) :], re.M | re.S)
    assert found, f"no {language} block after {heading!r} in {page}"
    return found.group(1)


def _define(page: str, heading: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "guide_example"}
    exec(compile(_block(page, heading), page, "exec"), namespace)
    return namespace


def _run(
    book: type[ob.Runbook], tmp_path: Path, backend: FakeBackend, **options: Any
) -> tuple[RunReport, str]:
    out = io.StringIO()
    surroundings = Surroundings(
        stdout=out,
        environ={"OPSBOOKS_USER": "reader"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
        scripted=options.pop("scripted", None),
    )
    report = start_run(
        Invocation(
            runbook=book.name, params=options.pop("params", {}), options=RunOptions(**options)
        ),
        Config(root=tmp_path),
        surroundings,
        Catalog([book]),
    )
    assert report is not None
    return report, out.getvalue()


def test_the_writing_guide_hook_example_times_and_skips_by_tag(tmp_path: Path) -> None:
    bounce = _define("writing-runbooks.md", "## Step hooks")["Bounce"]
    backend = FakeBackend()
    report, console = _run(bounce, tmp_path, backend, params={"skip_mutators": True})
    assert report.outcome.value == "succeeded"
    assert [c for c, _ in backend.calls] == ["lb drain web", "lb undrain web"]
    assert "mutators are skipped in this run" in console
    assert re.search(r"drain: succeeded in \d+\.\ds", console)


def test_the_optional_part_example_skips_on_no_and_yes_uses_the_default(tmp_path: Path) -> None:
    deploy = _define("writing-runbooks.md", "### Optional parts and unattended defaults")["Deploy"]
    backend = FakeBackend()
    report, _ = _run(deploy, tmp_path, backend, scripted={"batch": 3, "warm": "no"})
    assert report.outcome.value == "succeeded" and report.answers["warm"] is False
    assert "warm-caches" not in [c for c, _ in backend.calls]
    report, _ = _run(deploy, tmp_path / "yes", FakeBackend(), yes=True)
    assert report.outcome.value == "succeeded" and report.answers["batch"] == 2


def test_the_hooks_guide_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "guide_hooks_pkg"
    package.mkdir()
    (package / "timing.py").write_text(_block("hooks.md", "## Timing every step"))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("guide_hooks_pkg.timing", None)
    toml = _block("hooks.md", "Then name it in the configuration", "toml")
    assert 'hooks = ["hooks.timing:Timing"]' in toml
    bounce = _define("hooks.md", "## Skipping by tag (a runbook method)")["Bounce"]
    out = io.StringIO()
    report = start_run(
        Invocation(runbook=bounce.name, params={"skip_mutators": True}),
        Config(root=tmp_path, hooks=["guide_hooks_pkg.timing:Timing"]),
        Surroundings(
            stdout=out, interactive=False, backend=FakeBackend(), install_signal_handlers=False
        ),
        Catalog([bounce]),
    )
    assert report is not None and report.outcome.value == "succeeded"
    console = out.getvalue()
    assert "restart: skipped in" in console and "drain: succeeded in" in console
    assert f"mutators are skipped in this run (hook {bounce.name}.Bounce)" in console
