"""The CLI imports only the module of the command it runs (issue 18, start-up).

``COMMAND_OWNERS`` must name the module of every command, or that command silently
goes back to importing every module; and ``opsbooks list`` must not load the runner,
SSH or the review tooling.
"""

from __future__ import annotations

import argparse
import importlib

import pytest

from opsbooks.edges.cli.main import COMMAND_MODULES, COMMAND_OWNERS, build_parser, command_of


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
