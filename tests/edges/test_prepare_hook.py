"""``Runbook.prepare_project``: the engine prepares a runbook's project before params bind.

In-process, with Python steps only: the fast tier.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config, load_config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.prepare import prepare_resume, prepare_run, project_of
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.run.options import RunOptions
from opsbooks.testing import Drill

SEEN: list[ob.Project] = []


class Greeter(ob.Runbook):
    """Greets whom its configuration names; made ready on first use when asked to."""

    name = "hooks.greeter"
    scope = "hook tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    class Params(ob.Params):
        whom: str

    approve = ob.Gate.confirm("Greet {whom}?")

    @ob.step(title="Greet")
    def greet(self, ctx: ob.StepContext) -> str:
        return f"hello {self.params.whom}"  # type: ignore[attr-defined]

    @classmethod
    def prepare_project(cls, project: ob.Project) -> Path | None:
        SEEN.append(project)
        folder = project.settings.get("use")
        if not folder:
            return None
        target = project.path(folder)
        if not (target / "opsbooks.toml").is_file():
            target.mkdir(parents=True, exist_ok=True)
            state = project.root / ".opsbooks"  # the drill reads its journal there
            (target / "opsbooks.toml").write_text(
                f'state_dir = "{state}"\n\n[params."hooks.greeter"]\nwhom = "the sandbox"\n'
            )
            project.say(f"made {target}")
        return target


class Plain(ob.Runbook):
    """Has no hook: the default keeps the project."""

    name = "hooks.plain"
    scope = "hook tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    @ob.step(title="Nothing")
    def nothing(self, ctx: ob.StepContext) -> None:
        return None


class Broken(Plain):
    """Its hook fails the way user code fails."""

    name = "hooks.broken"

    @classmethod
    def prepare_project(cls, project: ob.Project) -> Path | None:
        raise RuntimeError("the disk is full")


@pytest.fixture(autouse=True)
def _forget() -> None:
    SEEN.clear()


def configured(root: Path, text: str) -> Config:
    (root / "opsbooks.toml").write_text(text)
    return load_config(root)


def test_the_default_hook_keeps_the_project(tmp_path: Path) -> None:
    config = configured(tmp_path, "")
    assert Plain.prepare_project(project_of(Plain, config, print)) is None
    assert prepare_run(Plain, config, print, dry_run=False) is config


def test_the_hook_sees_the_project_and_the_merged_settings(tmp_path: Path) -> None:
    config = configured(
        tmp_path,
        '[settings.hooks]\nuse = ""\ncolour = "blue"\n\n[settings."hooks.greeter"]\nsize = 3\n',
    )
    said: list[str] = []
    assert prepare_run(Greeter, config, said.append, dry_run=True) is config
    (project,) = SEEN
    assert project.root == tmp_path and project.configured
    assert project.source == str(tmp_path / "opsbooks.toml")
    assert dict(project.settings) == {"use": "", "colour": "blue", "size": 3}
    assert project.mode == "dry-run" and said == []
    assert project.path("sub") == tmp_path / "sub" and project.path("/abs") == Path("/abs")


def test_without_any_configuration_the_project_says_so(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    project = project_of(Greeter, config, print)
    assert not project.configured and project.source == "(defaults)"
    assert dict(project.settings) == {}


def test_a_redirect_loads_the_chosen_configuration_once(tmp_path: Path) -> None:
    config = configured(tmp_path, '[settings.hooks]\nuse = "box"\n')
    said: list[str] = []
    prepared = prepare_run(Greeter, config, said.append, dry_run=False)
    assert prepared.source == str(tmp_path / "box" / "opsbooks.toml")
    assert prepared.param_defaults("hooks.greeter") == {"whom": "the sandbox"}
    assert said == [f"made {tmp_path / 'box'}"]
    again: list[str] = []
    assert prepare_run(Greeter, config, again.append, dry_run=False).source == prepared.source
    assert again == [] and [p.mode for p in SEEN] == ["run", "run"]


def test_a_failing_hook_is_bad_input_naming_the_runbook(tmp_path: Path) -> None:
    config = configured(tmp_path, "")
    said = r"hooks\.broken could not prepare its project in .*: the disk is full; nothing was run"
    with pytest.raises(ob.BadInput, match=said):
        prepare_run(Broken, config, print, dry_run=False)


@pytest.mark.parametrize(
    ("setting", "problem"),
    [("missing", "which does not exist"), ("empty", "which holds no opsbooks.toml")],
)
def test_a_redirect_to_nothing_is_bad_input(tmp_path: Path, setting: str, problem: str) -> None:
    (tmp_path / "empty").mkdir()

    class Pointing(Plain):
        """Points at a folder that is not a project."""

        name = "hooks.pointing"

        @classmethod
        def prepare_project(cls, project: ob.Project) -> Path | None:
            return project.path(setting)

    with pytest.raises(ob.BadInput, match=problem):
        prepare_run(Pointing, configured(tmp_path, ""), print, dry_run=False)


def test_resume_keeps_the_project_that_journaled_the_run(tmp_path: Path) -> None:
    plain = configured(tmp_path, "")
    assert prepare_resume(Greeter, plain, print) is plain
    assert SEEN[-1].mode == "resume"
    redirected = configured(tmp_path, '[settings.hooks]\nuse = "box"\n')
    with pytest.raises(ob.BadInput, match=r"now points it at .*box/opsbooks\.toml"):
        prepare_resume(Greeter, redirected, print)


def test_a_run_binds_params_from_the_prepared_project(tmp_path: Path) -> None:
    drill = Drill(
        root=tmp_path, runbooks=(Greeter,), settings={"settings": {"hooks": {"use": "box"}}}
    )
    result = drill.run(Greeter, answers={"approve": True})
    result.assert_succeeded()
    assert result.record.params["whom"] == "the sandbox"
    assert f"made {tmp_path / 'box'}" in result.output


def test_a_dry_run_and_a_resume_call_the_hook_too(tmp_path: Path) -> None:
    drill = Drill(root=tmp_path, runbooks=(Greeter,))
    out = io.StringIO()
    invocation = Invocation(
        runbook=Greeter.name, params={"whom": "you"}, options=RunOptions(dry_run=True)
    )
    surroundings = Surroundings(stdout=out, environ={}, interactive=False)
    assert start_run(invocation, drill.config, surroundings, Catalog([Greeter])) is None
    assert "Dry run of hooks.greeter" in out.getvalue()
    stopped = drill.run(Greeter, {"whom": "you"})  # no answer for the gate: stops
    assert stopped.outcome == "stopped", stopped.output
    drill.resume(stopped.run_id, answers={"approve": True}).assert_succeeded()
    assert [p.mode for p in SEEN] == ["dry-run", "run", "resume"]
