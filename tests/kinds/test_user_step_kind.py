"""A step kind defined outside the package runs, dry-runs and renders through the registry.

This is the proof that the Plan is the contract: the runner, the dry run and the page
read only the planned step and its spec, so a user's kind needs no change in opsbooks.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

import opsbooks as ob
from opsbooks.define.contacts import Contacts
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.render.markdown import render_runbook
from opsbooks.run.options import RunOptions
from opsbooks.testing.fakes import FakeBackend


@dataclass(frozen=True)
class DiagramSpec:
    """What a bound ``Diagram`` step carries: the file it draws and its title."""

    path: str
    caption: str


@dataclass(frozen=True)
class Diagram(ob.Step):
    """Write a small Mermaid diagram file (a kind opsbooks itself knows nothing of)."""

    kind: ClassVar[str] = "diagram"

    path: str = field(kw_only=True)
    caption: str = field(kw_only=True, default="")

    def templates(self) -> list[str]:
        return [self.path, self.caption]

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> ob.Binding:
        from opsbooks.define.template import bind

        path = bind(self.path, values, shell=False).text
        caption = bind(self.caption, values, shell=False).shown
        return ob.Binding(text=f"draws {path}", spec=DiagramSpec(path, caption))


def draw(planned: ob.PlannedStep, ctx: ob.StepContext) -> str:
    spec: DiagramSpec = planned.spec
    target = ctx.workdir / spec.path
    target.write_text(f"flowchart TD\n  a[{spec.caption}] --> b\n", encoding="utf-8")
    return f"drew {target.name}"


ob.register_step_kind(
    Diagram,
    draw,
    render=ob.KindRenderer(
        label="diagram",
        dry_label="diagram: writes a Mermaid file",
        facts=lambda planned: [f"- **Caption:** {planned.spec.caption}"],
    ),
)


class Drawn(ob.Runbook):
    """Draw the service map, then check it exists."""

    name = "kinds.drawn"
    scope = "tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(ob.Params):
        service: str = ob.Field(default="web", pattern=r"^[a-z]+$")

    draw_map = Diagram(path="{service}.mmd", caption="map of {service}")
    check = ob.Command("test -s {service}.mmd")


def _surroundings(out: io.StringIO, backend: Any = None) -> Surroundings:
    return Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
    )


def test_a_user_kind_runs_through_the_registry(tmp_path: Path) -> None:
    out = io.StringIO()
    backend = FakeBackend([0])
    report = start_run(
        Invocation(runbook="kinds.drawn", params={"service": "api"}),
        Config(root=tmp_path),
        _surroundings(out, backend),
        Catalog([Drawn]),
    )
    assert report is not None and report.exit_code == 0, out.getvalue()
    assert (tmp_path / "api.mmd").read_text().startswith("flowchart TD\n  a[map of api]")
    assert report.steps["draw_map"].value == "succeeded"
    assert [call for call, _ in backend.calls][-1].endswith("test -s api.mmd")


def test_a_user_kind_dry_runs_from_its_renderer_entry(tmp_path: Path) -> None:
    out = io.StringIO()
    options = RunOptions(dry_run=True)
    start_run(
        Invocation(runbook="kinds.drawn", params={"service": "api"}, options=options),
        Config(root=tmp_path),
        _surroundings(out),
        Catalog([Drawn]),
    )
    text = out.getvalue()
    assert "draw_map: Draw map [diagram: writes a Mermaid file]" in text
    assert "draws api.mmd" in text
    assert not (tmp_path / "api.mmd").exists()


def test_a_user_kind_renders_on_the_page() -> None:
    page = render_runbook(Drawn, Contacts())
    assert "**Diagram** · step id `draw_map`" in page
    assert "- **Caption:** map of {service}" in page
    assert "draws {service}.mmd" in page


def test_a_kind_with_no_executor_is_refused_before_any_step_runs(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class Unregistered(ob.Step):
        kind: ClassVar[str] = "unregistered"

    class Orphan(ob.Runbook):
        """Has a step nothing can run."""

        name = "kinds.orphan"
        scope = "tests"
        owner = "sre"
        last_reviewed = dt.date(2026, 11, 1)

        first = ob.Command("touch first")
        odd = Unregistered()

    backend = FakeBackend([0])
    with pytest.raises(ob.BadInput, match="kind 'unregistered', which nothing can run"):
        start_run(
            Invocation(runbook="kinds.orphan"),
            Config(root=tmp_path),
            _surroundings(io.StringIO(), backend),
            Catalog([Orphan]),
        )
    assert backend.calls == []
