"""Lazy parser contexts: every invoke entry point prints and parses what the eager build did.

Each case runs invoke's own ``Program`` twice on the same namespace, once with the
lazy contexts (as shipped) and once with invoke's ``Collection.to_contexts`` put back
(the eager build), and compares exit code, stdout, stderr and the parsed tasks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import inspect
import io
import os
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from invoke import Collection, Program, task
from invoke.parser import ParserContext

from opsbooks import Command, Field, Params, Runbook
from opsbooks.edges import tasks as adapter
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.tasks import collection


class Greet(Runbook):
    """Write a greeting to a file."""

    name = "demo.greet"
    scope = "lazy context tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(Params):
        who: str = Field(pattern=r"^[a-z]+$", description="lower-case name to greet")
        times: int = Field(default=1, description="how many lines")
        loud: bool = Field(default=False, description="shout")
        tags: list[str] = Field(default_factory=list, description="extra words")

    write = Command("printf 'hello %s\\n' {who} >> greeting.txt")


class Wave(Runbook):
    """Wave at a host group."""

    name = "other.wave"
    scope = "lazy context tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(Params):
        hand: str = Field(default="left", description="which hand")

    wave = Command("true")


@task(help={"target": "where to"})
def plain(c: Any, target: str = "x", count: int = 0) -> None:
    """A plain invoke task beside the runbooks."""


class Recording(Program):
    """invoke's Program, recording what it parsed instead of executing the tasks."""

    parsed: list[tuple[str | None, dict[str, Any]]]

    def execute(self) -> None:
        self.parsed = [(ctx.name, ctx.as_kwargs) for ctx in self.tasks]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def namespace(project: Path, *, loaded: bool) -> Collection:
    """The adapter's namespace plus a plain task; ``loaded``: copied by invoke's loader."""
    ns = collection(Config(root=project, packages=[]), catalog=Catalog([Greet, Wave]))
    ns.add_task(plain)
    if not loaded:
        return ns
    module = types.ModuleType("tasks")
    module.ns = ns  # type: ignore[attr-defined]
    return Collection.from_module(module)


def run(project: Path, argv: list[str], *, loaded: bool = True) -> tuple[Any, ...]:
    program = Recording(namespace=namespace(project, loaded=loaded), binary="invoke")
    out, err = io.StringIO(), io.StringIO()
    code: Any = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            program.run(["invoke", *argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue(), getattr(program, "parsed", None)


def eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapter, "_LAZY_VERSIONS", set())
    monkeypatch.setattr(Collection, "to_contexts", adapter._EAGER_TO_CONTEXTS)


CASES = [
    ["--list"],
    ["--list", "--list-format=json"],
    ["--list", "--list-format=nested"],
    ["--list", "demo"],
    ["--list", "--list-depth", "1"],
    ["--help", "demo.greet"],
    ["demo.greet", "--help"],
    ["--help", "plain"],
    ["--help", "nosuch"],
    ["--help"],
    ["demo.greet", "--who", "ada", "--times", "3", "--loud", "--tags", "a", "--tags", "b"],
    ["demo.greet", "--who", "ada", "--dry-run", "--skip", "write", "other.wave", "--hand", "r"],
    ["demo.greet", "--who", "ada", "plain", "--target", "y", "demo.greet", "--who", "bob"],
    ["demo.greet", "--nosuch"],
    ["demo.greet", "--who"],
    ["nosuch.task"],
    ["--complete", "--", "invoke", "demo.greet", "--"],
    ["--complete", "--", "invoke", "demo.greet", "-"],
    ["--complete", "--", "invoke", "demo.greet", "--who"],
    ["--complete", "--", "invoke", "demo.greet", "--loud"],
    ["--complete", "--", "invoke", "demo.gr"],
    ["--complete", "--", "invoke", "demo.greet", "--who", "x", "other.wave", "--"],
    ["--complete", "--", "invoke", "--"],
    ["--print-completion-script", "bash"],
    ["--print-completion-script", "zsh"],
]


@pytest.mark.parametrize("loaded", [True, False], ids=["tasks.py", "namespace"])
@pytest.mark.parametrize("argv", CASES, ids=" ".join)
def test_every_entry_point_matches_the_eager_build(
    project: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], loaded: bool
) -> None:
    lazy = run(project, argv, loaded=loaded)
    eager(monkeypatch)
    assert run(project, argv, loaded=loaded) == lazy


def test_a_listing_builds_no_task_arguments(project: Path) -> None:
    program = Program(namespace=namespace(project, loaded=True), binary="invoke")
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(SystemExit):
        program.run(["invoke", "--list"])
    contexts = {ctx.name: ctx for ctx in program.parser.contexts.values()}
    assert isinstance(contexts["demo.greet"], adapter._LazyContext)
    assert all("_pending" in vars(c) for n, c in contexts.items() if n != "plain")
    assert type(contexts["plain"]) is ParserContext and contexts["plain"].args


def test_a_run_builds_only_the_named_tasks(project: Path) -> None:
    program = Recording(namespace=namespace(project, loaded=True), binary="invoke")
    program.run(["invoke", "demo.greet", "--who", "ada"])
    assert program.parsed[0][0] == "demo.greet"
    assert program.parsed[0][1]["who"] == "ada" and program.parsed[0][1]["times"] is None
    assert "_pending" in vars(program.parser.contexts["other.wave"])


def test_the_debug_log_shows_built_contexts(project: Path, caplog: Any) -> None:
    ns = namespace(project, loaded=True)
    (context,) = [c for c in ns.to_contexts() if c.name == "demo.greet"]
    assert "(arguments not built)" in repr(context)
    with caplog.at_level("DEBUG", logger="invoke"):
        assert "<_Argument: who>" in repr(context)
    assert "_pending" not in vars(context)


def test_help_lines_survive_a_second_build(project: Path) -> None:
    greet = namespace(project, loaded=False)["demo.greet"]
    first, second = greet.get_arguments(), greet.get_arguments()
    assert [a.help for a in first] == [a.help for a in second]
    assert any(a.help for a in second)


def test_invoke_still_builds_contexts_as_the_lazy_build_repeats() -> None:
    """Pin: ``_to_contexts`` repeats this release's ``Collection.to_contexts``; when
    invoke changes it, compare the two and add the release to ``_LAZY_VERSIONS``."""
    import invoke

    source = inspect.getsource(adapter._EAGER_TO_CONTEXTS)
    assert hashlib.sha256(source.encode()).hexdigest()[:16] == "1b0790f4a6505ccf", source
    assert tuple(invoke.__version_info__[:2]) in adapter._LAZY_VERSIONS
    assert Collection.to_contexts is adapter._to_contexts
