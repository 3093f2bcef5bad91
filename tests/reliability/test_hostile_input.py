"""Hostile input: answers files, configuration, inventories and journal rows that are
wrong in every way we can generate. Always a clear ``OpsbooksError`` (exit 2 with a
message from the CLI), never a traceback or a hang."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from reliability_helpers import cli, make_project, query

import opsbooks as ob
from opsbooks.backends.hosts.inventory import Inventory
from opsbooks.edges.answers import load_answers, validate_answers
from opsbooks.edges.cli.main import main
from opsbooks.edges.config import Config, load_config
from opsbooks.errors import OpsbooksError

EXAMPLES = int(os.environ.get("OPSBOOKS_PROPERTY_EXAMPLES", "40"))
PROFILE = settings(
    max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class Gated(ob.Runbook):
    """Every kind of question an answers file can answer."""

    name = "hostile.gated"
    scope = "Nothing."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        env: str = "prod"

    go = ob.Command("true")
    confirm = ob.Gate("Go?")
    typed = ob.Gate("Type the env", phrase="{env}")
    count = ob.Gate("How many?", answer_type=int, pattern=r"[0-9]+")
    pick = ob.Gate("Which?", choices=("a", "b"))
    manual = ob.Manual("Do the thing.")


PLAN = ob.plan(Gated, Gated.Params())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=10).map(lambda b: b.decode("latin-1")),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
gate_keys = st.sampled_from(
    [
        "go",
        "confirm",
        "typed",
        "count",
        "pick",
        "manual",
        "nope",
        "resume:go",
        "resume:nope",
        "resume:definition",
        "",
    ]
)


def _answers_file(folder: str, raw: bytes, suffix: str) -> Path:
    path = Path(folder) / f"answers{suffix}"
    path.write_bytes(raw)
    return path


def _load_and_validate(path: Path) -> None:
    try:
        data = load_answers(path)
        validate_answers(PLAN, data, str(path))
    except OpsbooksError as exc:
        assert str(exc)


@PROFILE
@given(raw=st.binary(max_size=200), suffix=st.sampled_from([".yaml", ".json", ".yml"]))
@example(raw=b"\xff\xfe not utf-8", suffix=".yaml")
@example(raw=b"[" * 5000, suffix=".json")
@example(raw=b"[" * 5000, suffix=".yaml")
@example(raw=b"!!python/object/apply:os.system ['touch pwned']", suffix=".yaml")
@example(raw=b"count: &a [*a]", suffix=".yaml")
def test_answers_file_bytes(raw: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _load_and_validate(_answers_file(folder, raw, suffix))
        assert not (Path(folder) / "pwned").exists()


@PROFILE
@given(data=st.dictionaries(gate_keys, structures, max_size=6), as_json=st.booleans())
def test_answers_file_structures(data: dict[str, Any], as_json: bool) -> None:
    import yaml

    with tempfile.TemporaryDirectory() as folder:
        if as_json:
            raw = json.dumps(data).encode()
        else:
            raw = yaml.safe_dump(data, allow_unicode=True).encode()
        _load_and_validate(_answers_file(folder, raw, ".json" if as_json else ".yaml"))


def test_billion_laughs_answer_does_not_hang() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    lines.append("count: *a8")
    with tempfile.TemporaryDirectory() as folder:
        path = _answers_file(folder, "\n".join(lines).encode(), ".yaml")
        with pytest.raises(OpsbooksError):
            validate_answers(PLAN, load_answers(path), str(path))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value) if value == value and abs(value) != float("inf") else "nan"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return json.dumps(str(value))


config_keys = st.sampled_from(
    [
        "packages",
        "docs_dir",
        "state_dir",
        "journal",
        "contacts",
        "notify",
        "secret_patterns",
        "hosts",
        "ssh",
        "params",
        "other",
    ]
)
toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=15),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@PROFILE
@given(raw=st.binary(max_size=200))
@example(raw=b"\xff\xfe\x00")
@example(raw=b"a = [" * 3000)
def test_config_file_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "opsbooks.toml").write_bytes(raw)
        try:
            load_config(Path(folder))
        except OpsbooksError as exc:
            assert str(exc)


@PROFILE
@given(table=st.dictionaries(config_keys, toml_values, max_size=5))
@example(table={"secret_patterns": ["("]})
@example(table={"notify": {"x": {"type": "file", "timeout": "soon"}}})
def test_config_structures(table: dict[str, Any]) -> None:
    text = "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in table.items())
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "opsbooks.toml").write_text(text)
        try:
            config = load_config(Path(folder))
        except OpsbooksError as exc:
            assert str(exc)
            return
        from opsbooks.records.redaction import Redactor

        try:
            Redactor((), config.secret_patterns)
            Inventory.from_config(config)
        except OpsbooksError as exc:
            assert str(exc)


host_fields = st.sampled_from(
    ["address", "port", "user", "key_file", "roles", "vars", "name", "extra"]
)


@PROFILE
@given(
    hosts=st.dictionaries(
        st.text(max_size=8),
        st.one_of(toml_values, st.dictionaries(host_fields, toml_values, max_size=4)),
        max_size=3,
    ),
    ssh=st.dictionaries(
        st.sampled_from(
            [
                "known_hosts",
                "ssh_config",
                "connect_timeout",
                "port",
                "user",
                "key_file",
                "use_agent",
                "x",
            ]
        ),
        toml_values,
        max_size=3,
    ),
)
@example(hosts={"web": {}}, ssh={"key_file": ["a"]})
@example(hosts={"web": {"vars": {"1x": "y"}}}, ssh={})
def test_inventory_structures(hosts: dict[str, Any], ssh: dict[str, Any]) -> None:
    try:
        inventory = Inventory.from_config(Config(root=Path("/tmp"), hosts=hosts, ssh=ssh))
        for role in inventory.roles:
            inventory.hosts_for(role)
    except OpsbooksError as exc:
        assert str(exc)


# -- malformed journal rows ----------------------------------------------------------------

SMALL = '''
class Small(ob.Runbook):
    """Two steps and a gate."""

    name = "hostile.small"
    scope = "Nothing."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    one = ob.Command("true")
    ask = ob.Gate("Go on?")
    two = ob.Command("true")
'''

GARBAGE = {
    "bad status": "UPDATE transitions SET status='exploded' WHERE step_id='one'",
    "bad detail": "UPDATE transitions SET detail='{not json' WHERE step_id='one'",
    "detail not an object": "UPDATE transitions SET detail='[1,2]' WHERE step_id='one'",
    "bad params": "UPDATE runs SET params='{{{'",
    "params not an object": "UPDATE runs SET params='\"x\"'",
    "bad options": "UPDATE runs SET options='nope'",
    "bad metrics": "UPDATE runs SET metrics='[]'",
    "text started_at": "UPDATE runs SET started_at='yesterday'",
    "text pid": "UPDATE runs SET pid='abc'",
    "null outcome": "UPDATE runs SET outcome='weird'",
    "bad gate answer": "INSERT INTO gates (run_id, step_id, mode, prompt, answer, approver, "
    "source, asked_at, answered_at) SELECT id, 'ask', 'confirm', 'p', "
    "'{broken', 'x', 'y', 'soon', 0 FROM runs",
    "orphan transition": "INSERT INTO transitions (run_id, step_id, status, at) "
    "SELECT id, 'ghost', 'succeeded', 0 FROM runs",
    "text at": "UPDATE transitions SET at='noon' WHERE step_id='one'",
    "blob tail": "UPDATE transitions SET output_tail=x'ff00fe' WHERE step_id='one'",
}


@pytest.fixture(scope="module")
def stopped_project() -> Any:
    with tempfile.TemporaryDirectory() as folder:
        root, _ = make_project(Path(folder) / "p", {"hostile/small": SMALL})
        first = cli(root, "run", "hostile.small")
        assert first.returncode == 3, first.stdout + first.stderr
        yield root


@pytest.mark.slow
@pytest.mark.parametrize("what", sorted(GARBAGE))
def test_malformed_journal_rows_give_clear_errors(
    stopped_project: Path,
    what: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "p"
    shutil.copytree(stopped_project, root)
    db = sqlite3.connect(root / ".opsbooks" / "journal.db", isolation_level=None)
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute(GARBAGE[what])
    db.close()
    ((run_id,),) = query(root, "SELECT id FROM runs")
    answers = root / "answers.yaml"
    answers.write_text("ask: yes\n")
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))
    for args in (
        ["history"],
        ["report", str(run_id)],
        ["report", str(run_id), "--format", "json"],
        ["audit", "verify", str(run_id)],
        ["resume", str(run_id), "--answers", str(answers)],
    ):
        code = main(args)  # in-process: any traceback fails this test
        err = capsys.readouterr().err
        assert code in (0, 1, 2, 3), f"{what}: {args} -> {code}"
        if code == 2:
            assert err.startswith("opsbooks: "), err


def test_inventory_non_text_key_file_is_a_config_error() -> None:
    with pytest.raises(OpsbooksError):
        Inventory.from_config(Config(root=Path("/tmp"), hosts={"web": {"key_file": 5}}))
