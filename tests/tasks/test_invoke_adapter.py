"""The invoke adapter, driven through invoke's own ``Program`` with real argv."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoke import Program

from opsbooks import Command, Field, Gate, Params, Runbook
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.tasks import collection, runbook_task


class Greet(Runbook):
    """Write a greeting to a file."""

    name = "demo.greet"
    scope = "adapter tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 11, 1)

    class Params(Params):
        who: str = Field(pattern=r"^[a-z]+$", description="lower-case name to greet")
        times: int = Field(default=1, description="how many lines")
        loud: bool = Field(default=False, description="shout")
        tags: list[str] = Field(default_factory=list, description="extra words")
        host_group: str = Field(default="all", description="starts with h, like -h")

    write = Command("printf 'hello %s %s %s\\n' {who} {times} {loud} >> greeting.txt")
    words = Command("printf '%s\\n' {tags} >> greeting.txt", when="tags")
    approve = Gate.confirm("Greet {who}?")


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def run_program(project: Path, argv: list[str]) -> tuple[int, str, str]:
    config = Config(root=project, packages=[])
    namespace = collection(config, catalog=Catalog([Greet]))
    out, err = io.StringIO(), io.StringIO()
    program = Program(namespace=namespace, binary="invoke")
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            program.run(["invoke", *argv], exit=True)
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_list_shows_one_task_per_runbook(project: Path) -> None:
    code, out, _ = run_program(project, ["--list"])
    assert code == 0
    assert "demo.greet" in out and "Write a greeting" in out


def test_help_shows_params_with_their_help(project: Path) -> None:
    code, out, _ = run_program(project, ["--help", "demo.greet"])
    assert code == 0
    assert "--who=STRING" in out and "lower-case name to greet; required" in out
    assert "--times=STRING" in out and "how many lines; default: 1" in out
    assert "--dry-run" in out and "--answers=STRING" in out
    assert "-h," not in out.replace("-h, --help", ""), "no automatic short flag shadows -h"


@pytest.mark.slow
def test_values_flow_through_flags_and_run_for_real(project: Path) -> None:
    argv = [
        "demo.greet",
        "--who",
        "ada",
        "--times",
        "3",
        "--loud",
        "--tags",
        "x y",
        "--tags",
        "z",
        "--yes",
    ]
    code, out, err = run_program(project, argv)
    assert code == 0, out + err
    assert (project / "greeting.txt").read_text() == "hello ada 3 true\nx y\nz\n"


def test_bad_value_exits_2_with_one_line_per_field(project: Path) -> None:
    code, out, err = run_program(project, ["demo.greet", "--who", "Ada!", "--times", "many"])
    assert code == 2
    assert "--who: must match ^[a-z]+$, got 'Ada!'" in err
    assert "Traceback" not in out + err
    assert not (project / "greeting.txt").exists()


def test_missing_required_flag_exits_2(project: Path) -> None:
    code, _, err = run_program(project, ["demo.greet", "--yes"])
    assert code == 2
    assert "--who: is required" in err


def test_dry_run_prints_the_plan_and_runs_nothing(project: Path) -> None:
    code, out, _ = run_program(project, ["demo.greet", "--who", "bob", "--dry-run"])
    assert code == 0
    assert "$ printf 'hello %s %s %s\\n' bob 1 false >> greeting.txt" in out
    assert not (project / "greeting.txt").exists()


@pytest.mark.slow
def test_gate_without_terminal_stops_with_exit_3(project: Path) -> None:
    code, _, _ = run_program(project, ["demo.greet", "--who", "bob"])
    assert code == 3


def test_task_rejects_params_named_like_run_options() -> None:
    class Clash(Runbook):
        """Has a param called yes."""

        name = "demo.clash"
        scope = "adapter tests"
        owner = "sre"
        last_reviewed = dt.date(2026, 11, 1)

        class Params(Params):
            yes: bool = False

        noop = Command("true")

    with pytest.raises(Exception, match="clash with run options"):
        runbook_task(Clash, Config())
