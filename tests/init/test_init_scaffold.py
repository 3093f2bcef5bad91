"""Fast checks of `opsbooks init`'s planning: package names, config, tasks.py, idempotence."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from opsbooks.edges.scaffold import Outcome, check_package, extendable, put, write_config
from opsbooks.errors import BadInput


@pytest.mark.parametrize("name", ["runbooks", "team_runbooks", "_ops2"])
def test_package_names_python_imports_are_accepted(name: str) -> None:
    assert check_package(name) == name


@pytest.mark.parametrize("name", ["my-runbooks", "2ops", "class", "", "ops.books", "rünbooks"])
def test_a_package_name_that_is_not_an_identifier_is_bad_input(name: str) -> None:
    with pytest.raises(BadInput, match="is not a Python package name"):
        check_package(name)


def test_a_table_is_appended_keeping_the_file_as_it_was(tmp_path: Path) -> None:
    original = '[project]\nname = "app"  # keep this comment\n\n[tool.ruff]\nline-length = 99\n'
    (tmp_path / "pyproject.toml").write_text(original)
    outcome = Outcome()
    write_config(tmp_path, "runbooks", own_file=False, force=False, outcome=outcome)
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(original)
    data = tomllib.loads(text)
    assert data["tool"]["opsbooks"]["packages"] == ["runbooks"]
    assert set(data["tool"]["opsbooks"]["contacts"]) == {"L1", "L2", "L3"}
    assert data["tool"]["ruff"] == {"line-length": 99}
    assert outcome.changed == 1


def test_an_existing_tool_opsbooks_table_is_left_and_a_missing_package_advised(
    tmp_path: Path,
) -> None:
    original = '[tool.opsbooks]\npackages = ["ours"]\n'
    (tmp_path / "pyproject.toml").write_text(original)
    outcome = Outcome()
    write_config(tmp_path, "runbooks", own_file=False, force=True, outcome=outcome)
    assert (tmp_path / "pyproject.toml").read_text() == original
    assert outcome.changed == 0
    assert 'Add "runbooks" to `packages`' in outcome.advice[0]


def test_invalid_pyproject_is_refused_not_appended_to(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(BadInput, match=r"not valid TOML.*--opsbooks-toml"):
        write_config(tmp_path, "runbooks", own_file=False, force=False, outcome=Outcome())
    assert (tmp_path / "pyproject.toml").read_text() == "[project\n"


def test_the_flag_writes_opsbooks_toml_and_leaves_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\n')
    write_config(tmp_path, "ops_books", own_file=True, force=False, outcome=Outcome())
    assert (tmp_path / "pyproject.toml").read_text() == '[project]\nname = "app"\n'
    data = tomllib.loads((tmp_path / "opsbooks.toml").read_text())
    assert data["packages"] == ["ops_books"]


def test_a_user_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("mine\n")
    outcome = Outcome()
    put(tmp_path, "a.py", "theirs\n", False, outcome)
    assert (tmp_path / "a.py").read_text() == "mine\n"
    assert "skipped" in outcome.lines[0] and "--force" in outcome.lines[0]
    put(tmp_path, "a.py", "theirs\n", True, outcome)
    put(tmp_path, "a.py", "theirs\n", False, outcome)
    assert (tmp_path / "a.py").read_text() == "theirs\n"
    assert outcome.lines[1].startswith("replaced") and outcome.lines[2].startswith("unchanged")
    assert outcome.changed == 1


@pytest.mark.parametrize(
    ("source", "safe"),
    [
        ("from invoke import Collection, task\n\nns = Collection(build)\n", True),
        ("import invoke\nns = invoke.Collection()\nns.add_task(build)\n", True),
        ("from invoke import task\n\n@task\ndef build(c): ...\n", False),  # no ns: implicit
        ("ns = make_namespace()\n", False),
        ("ns = Collection()\nif X:\n    ns = Collection('other')\n", False),
        ("def f():\n    ns = Collection()\n", False),
        ("ns = Collection(\n", False),  # does not parse
    ],
)
def test_only_a_single_top_level_ns_collection_is_extended(source: str, safe: bool) -> None:
    assert extendable(source) is safe
