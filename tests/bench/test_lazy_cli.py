"""The CLI imports only the module of the command it runs (issue 18, start-up).

``COMMAND_OWNERS`` must name the module of every command, or that command silently
goes back to importing every module; and ``opsbooks list`` must not load the runner,
SSH or the review tooling; with the catalog index warm, ``opsbooks list``, ``opsbooks
--help`` and ``invoke --list`` import no pydantic (nor anything else heavy).
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from opsbooks.edges.cli.main import (
    COMMAND_HELP,
    COMMAND_MODULES,
    COMMAND_OWNERS,
    build_parser,
    command_of,
)


def _commands_of(module: str) -> set[str]:
    subparsers = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(module).register(subparsers)
    return set(subparsers.choices)


def test_every_command_is_owned_by_the_module_that_registers_it() -> None:
    owned = {module: set() for module in COMMAND_MODULES}  # type: dict[str, set[str]]
    for command, module in COMMAND_OWNERS.items():
        owned.setdefault(module, set()).add(command)
    assert owned == {module: _commands_of(module) for module in COMMAND_MODULES}


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["list"], "list"),
        (["--config", "x.toml", "run", "a.b", "--yes"], "run"),
        (["--config=x.toml", "history"], "history"),
        (["--help"], None),
        ([], None),
    ],
)
def test_the_command_word_is_found_after_the_global_options(
    argv: list[str], command: str | None
) -> None:
    assert command_of(argv) == command


def test_a_known_command_builds_only_its_own_parser() -> None:
    parser = build_parser("list")
    choices = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(choices) == {"list", "show", "docs"}
    everything = build_parser(None)
    every = next(
        a.choices for a in everything._actions if isinstance(a, argparse._SubParsersAction)
    )
    assert set(every) == set(COMMAND_OWNERS)


def test_the_static_help_table_is_what_the_command_modules_register() -> None:
    registered: dict[str, str] = {}
    for module in COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(subparsers)
        registered.update({a.dest: str(a.help) for a in subparsers._choices_actions})
    assert registered == COMMAND_HELP
    assert list(COMMAND_HELP) == [c for c in COMMAND_OWNERS if not c.startswith("_")]


HEAVY = ("pydantic", "structlog", "fabric", "paramiko", "invoke", "tenacity", "yaml", "rich")
PROBE = """
import sys
which = sys.argv[1]
if which == "invoke":
    from invoke.main import program
    before = set(sys.modules)
    program.run(["invoke", "--list"], exit=False)
    loaded = set(sys.modules) - before
else:
    from opsbooks.edges.cli.main import main
    try:
        main(sys.argv[2:])
    except SystemExit:
        pass
    loaded = set(sys.modules)
heavy = {m.split(".")[0] for m in loaded} & set(HEAVY)
print("HEAVY=" + ",".join(sorted(heavy)))
"""


@pytest.mark.slow
def test_listing_and_help_import_nothing_heavy_once_the_index_is_warm(tmp_path: Path) -> None:
    books = tmp_path / "lazybooks"
    (books / "ops").mkdir(parents=True)
    (books / "__init__.py").write_text("")
    (books / "ops" / "__init__.py").write_text("")
    (books / "ops" / "restart.py").write_text(
        "import opsbooks as ob\n\n\nclass Restart(ob.Runbook):\n"
        '    """Restart the app."""\n\n'
        "    scope = 'tests'\n    owner = 'sre'\n    last_reviewed = '2026-11-28'\n\n"
        "    class Params(ob.Params):\n        version: str = ob.Field(description='v')\n\n"
        "    @ob.step(title='Nothing')\n    def nothing(self, ctx: ob.StepContext) -> None:\n"
        "        return None\n"
    )
    (tmp_path / "opsbooks.toml").write_text('packages = ["lazybooks"]\n')
    (tmp_path / "tasks.py").write_text(
        "from opsbooks.tasks import collection\n\nns = collection()\n"
    )

    def heavy(*argv: str) -> tuple[list[str], str]:
        done = subprocess.run(
            [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *argv],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        lines = done.stdout.splitlines()
        marks = [line for line in lines if line.startswith("HEAVY=")]
        shown = "\n".join(line for line in lines if not line.startswith("HEAVY="))
        return marks[-1].removeprefix("HEAVY=").split(",") if marks else ["?"], shown

    cold, listing = heavy("opsbooks", "list")
    assert "pydantic" in cold and "ops.restart" in listing  # the first listing imports
    assert heavy("opsbooks", "list") == ([""], listing)
    assert heavy("opsbooks", "--help")[0] == [""]
    warm, tasks = heavy("invoke")
    assert warm == ["yaml"] or warm == [""], tasks  # invoke's own vendored yaml, if any
    assert "ops.restart" in tasks
