"""Secret parameter values never reach the console, audit files, journal, docs or errors.

The whole catalog is dry-run with every ``SecretStr`` param set to a canary, and a
small runbook whose commands echo the secret and fail is run for real (CLI
subprocess and drill harness); then every byte the runs left behind is searched.
A ``secret_patterns`` value that never was a parameter is scrubbed the same way.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import find
from hypothesis import strategies as st
from pydantic import BaseModel
from reliability_helpers import REPO, cli, make_project, spawn

import opsbooks as ob
from opsbooks.define.params import secret_fields
from opsbooks.edges.config import Config, Contacts
from opsbooks.edges.discovery import discover
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.errors import OpsbooksError
from opsbooks.render.markdown import render_runbook
from opsbooks.run.options import RunOptions
from opsbooks.testing import Drill

CANARY = "canary-7f3a9c2e-SECRET"
PATTERN_SECRET = "sk_live_Zx81QpLm"  # matched by secret_patterns, never a param

LEAKY = '''
class Leaky(ob.Runbook):
    """Use secrets of every shape in every way a runbook might, then fail."""

    name = "leak.echo"
    scope = "Nothing real."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        token: ob.SecretStr
        tokens: list[ob.SecretStr] = []
        keyed: dict[str, ob.SecretStr] = {}
        maybe: ob.SecretStr | None = None
        label: str = "x"

    show = ob.Command(
        "echo token is $T; echo $T >&2; echo $TS $K $M; echo sk_live_$(echo Zx81QpLm); "
        "sleep 0.3",
        env={"T": "{token}", "TS": "{tokens}", "K": "{keyed.k}", "M": "{maybe}"},
    )
    tell = ob.Notify("using {token} for {label}")
    approve = ob.Gate("Use the token {token}?")
    paste = ob.Gate.ask("Paste the other token", secret=True)

    @ob.step(title="Python that fails loudly")
    def python(self, ctx: ob.StepContext) -> str:
        pasted = ctx.answers["paste"].get_secret_value()
        print("pasted", pasted, "and", self.params.tokens[0].get_secret_value())
        raise RuntimeError(f"cannot use {self.params.token.get_secret_value()} or {pasted}")
'''

LEAKY_TAIL = '''
class LeakyCommand(ob.Runbook):
    """Fail in a shell command whose last output line is the secret."""

    name = "leak.command"
    scope = "Nothing real."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        token: ob.SecretStr

    fail = ob.Command("echo about to fail; echo $T; exit 3", env={"T": "{token}"})
'''

#: every canary a run is handed: one per ``SecretStr`` shape, and a secret gate answer.
SHAPE_ENV = {
    "OPSBOOKS_SECRET_TOKENS": '["canary-list-1-SECRET", "canary-list-2-SECRET"]',
    "OPSBOOKS_SECRET_KEYED": '{"k": "canary-dict-SECRET"}',
    "OPSBOOKS_SECRET_MAYBE": "canary-optional-SECRET",
}
GATE_CANARY = "canary-gate-answer-SECRET"
CANARIES = (
    "canary-7f3a9c2e-SECRET",
    "canary-list-1-SECRET",
    "canary-list-2-SECRET",
    "canary-dict-SECRET",
    "canary-optional-SECRET",
    GATE_CANARY,
)


def plausible(name: str, field: Any) -> Any:
    """A value that passes the field's validation, derived from the Params model."""
    if not field.is_required():
        return None
    pattern = next((m.pattern for m in field.metadata if getattr(m, "pattern", None)), None)
    if pattern:
        return find(st.from_regex(pattern, fullmatch=True), lambda s: len(s) > 0)
    if field.annotation is int:
        return 1
    if field.annotation is bool:
        return False
    return f"/tmp/plausible-{name}"


def catalog_values(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, str]]:
    params, environ = {}, {}
    secrets = secret_fields(model)
    for name, field in model.model_fields.items():
        if name in secrets:
            environ[f"OPSBOOKS_SECRET_{name.upper()}"] = CANARY
        else:
            value = plausible(name, field)
            if value is not None:
                params[name] = value
    return params, environ


def assert_clean(blob: bytes | str, where: str) -> None:
    data = blob.encode() if isinstance(blob, str) else blob
    for canary in CANARIES:
        assert canary.encode() not in data, f"secret canary {canary} leaked into {where}"
    assert PATTERN_SECRET.encode() not in data, f"pattern secret leaked into {where}"


def assert_tree_clean(root: Path) -> int:
    """Search every file under ``root`` (journal, -wal, audit files, docs); return how many."""
    count = 0
    for path in root.rglob("*"):
        if path.is_file() and path.suffix != ".py" and path.name != "answers.yaml":
            assert_clean(path.read_bytes(), str(path))
            count += 1
    return count


@pytest.fixture
def catalog(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sys, "path", [str(REPO), *sys.path])
    return discover(["opsbooks_playbooks"])


@pytest.mark.slow
def test_whole_catalog_dry_run_and_docs_never_show_a_secret(catalog: Any, tmp_path: Path) -> None:
    config = Config(root=tmp_path, secret_patterns=[r"sk_live_[A-Za-z0-9]+"])
    with_secrets = 0
    for runbook in catalog:
        params, environ = catalog_values(runbook.Params)
        with_secrets += bool(environ)
        out = io.StringIO()
        surroundings = Surroundings(
            stdin=io.StringIO(),
            stdout=out,
            interactive=False,
            environ={"OPSBOOKS_USER": "leak-scan", **environ},
            install_signal_handlers=False,
        )
        try:
            start_run(
                Invocation(runbook=runbook.name, params=params, options=RunOptions(dry_run=True)),
                config,
                surroundings,
                catalog,
            )
        except OpsbooksError as exc:  # e.g. remote steps without hosts: still must not leak
            assert_clean(str(exc), f"{runbook.name} dry-run error")
        assert_clean(out.getvalue(), f"{runbook.name} dry run")
        assert_clean(render_runbook(runbook, Contacts(L1="ops")), f"{runbook.name} docs")
    assert with_secrets >= 5  # the catalog really has secret params to leak
    assert_tree_clean(tmp_path)


def test_params_error_never_echoes_a_secret(catalog: Any, tmp_path: Path) -> None:
    runbook = catalog.get("backup.run")
    config = Config(root=tmp_path)
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        interactive=False,
        environ={"OPSBOOKS_SECRET_DB": CANARY},
        install_signal_handlers=False,
    )
    with pytest.raises(OpsbooksError) as caught:
        start_run(
            Invocation(runbook="backup.run", params={"keep": CANARY, "db": CANARY}),
            config,
            surroundings,
            catalog,
        )
    assert "keep" in str(caught.value)
    assert_clean(str(caught.value).replace(f"{CANARY!r}", ""), "params error (secret field)")
    assert runbook is not None


@pytest.mark.slow
@pytest.mark.parametrize("how", ["env", "flag"])
def test_real_runs_through_the_cli_leave_no_secret_anywhere(tmp_path: Path, how: str) -> None:
    root, _ = make_project(
        tmp_path / "p",
        {"leak/echo": LEAKY, "leak/command": LEAKY_TAIL},
        extra_toml='secret_patterns = ["sk_live_[A-Za-z0-9]+"]\n',
    )
    answers = root / "answers.yaml"
    answers.write_text(f"approve: yes\npaste: {GATE_CANARY}\n")
    env = {"OPSBOOKS_SECRET_TOKEN": CANARY} if how == "env" else {}
    flag = ["--token", CANARY] if how == "flag" else []
    seen = []
    first, samples = run_sampling_argv(
        root, ["run", "leak.echo", *flag, "--answers", str(answers)], {**env, **SHAPE_ENV}
    )
    assert first.returncode == 1, first.stdout + first.stderr
    assert "cannot use ***** or *****" in first.stdout  # the failure is shown, redacted
    assert "pasted ***** and *****" in first.stdout
    assert samples >= 3  # children's argv really was read while they ran
    seen.append(first)
    resumed = cli(
        root,
        "resume",
        "last",
        "--answers",
        str(answers),
        OPSBOOKS_SECRET_TOKEN=CANARY,
        **SHAPE_ENV,
    )
    seen.append(resumed)
    failing = cli(root, "run", "leak.command", *flag, **env)
    assert failing.returncode == 1
    seen.append(failing)
    for args in (
        ["history"],
        ["report", "last"],
        ["report", "last", "--format", "json"],
        ["show", "leak.echo"],
        ["docs"],
        ["audit", "verify", "last"],
    ):
        seen.append(cli(root, *args))
    for done in seen:
        assert "Traceback" not in done.stderr, done.stderr
        assert_clean(done.stdout + done.stderr, f"console of {done.args}")
    files = assert_tree_clean(root)
    assert (root / ".opsbooks" / "journal.db").exists()
    assert len(list((root / ".opsbooks" / "runs").glob("*.jsonl"))) == 2
    assert files >= 4


def run_sampling_argv(
    root: Path, args: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run the CLI; while it runs, read every child's ``/proc/PID/cmdline`` for canaries.

    The opsbooks process itself is left out: a ``--token`` flag is the operator's choice.
    """
    proc = spawn(root, *args, **env)
    samples = 0
    while proc.poll() is None:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            pid = int(cmdline.parent.name)
            if pid in (proc.pid, os.getpid()):
                continue
            try:
                argv = cmdline.read_bytes()
            except OSError:
                continue
            if b"opsbooks" in argv or b"sleep" in argv or b"sh\x00-c" in argv:
                samples += 1
            assert_clean(argv, f"/proc/{pid}/cmdline")
        time.sleep(0.02)
    out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), samples


@pytest.mark.slow
def test_drill_harness_runs_leave_no_secret(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {"ob": ob}
    code = compile(LEAKY + LEAKY_TAIL, "leaky", "exec", dont_inherit=True)  # eager annotations
    exec(code, namespace)
    drill = Drill(
        root=tmp_path,
        runbooks=(namespace["Leaky"], namespace["LeakyCommand"]),
        settings={"secret_patterns": [r"sk_live_[A-Za-z0-9]+"]},
    )
    shapes = {
        "token": CANARY,
        "tokens": ["canary-list-1-SECRET", "canary-list-2-SECRET"],
        "keyed": {"k": "canary-dict-SECRET"},
        "maybe": "canary-optional-SECRET",
    }
    for name, params, answers in (
        ("leak.echo", shapes, {"approve": True, "paste": GATE_CANARY}),
        ("leak.command", {"token": CANARY}, {}),
    ):
        result = drill.run(name, params, answers=answers)
        assert result.outcome in ("failed", "rolled_back")
        assert_clean(result.output, f"{name} drill output")
        assert_clean(str(result.error), f"{name} error message")
        assert_clean(repr(result.report), f"{name} report")
        for transition in result.transitions:
            assert_clean(repr(transition), f"{name} transition")
        for gate in result.gates:
            assert_clean(repr(gate), f"{name} gate")
    assert re.search(r"\*\*\*\*\*", "".join(t.output_tail for t in result.transitions))
    assert_tree_clean(tmp_path)


@pytest.mark.slow
def test_shipped_backup_run_on_sqlite_leaves_its_secret_url_nowhere(tmp_path: Path) -> None:
    """A real run of ``backup.run`` (the database URL is its ``SecretStr``), /proc sampled."""
    import sqlite3
    import threading

    data = tmp_path / "data"
    data.mkdir()
    path = data / "shop.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
    url = f"sqlite:///{path}?password=7f3a9c2e-SECRET"  # the secret part of the URL
    stop, seen, sampled = threading.Event(), [], [0]

    def sample() -> None:
        while not stop.wait(0.01):
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    argv = cmdline.read_bytes()
                except OSError:
                    continue
                sampled[0] += 1
                if url.encode() in argv or b"7f3a9c2e-SECRET" in argv:
                    seen.append(argv)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    drill = Drill(root=tmp_path, packages=("opsbooks_playbooks",))
    try:
        result = drill.run("backup.run", {"db": url, "dest": str(tmp_path / "bk")}, yes=True)
    finally:
        stop.set()
        sampler.join()
    assert seen == [] and sampled[0] > 0
    for blob, where in (
        (result.output, "console"),
        (repr(result.report), "report"),
        (repr(result.transitions), "journal rows"),
    ):
        assert "7f3a9c2e-SECRET" not in blob, where
    for file in tmp_path.rglob("*"):
        if file.is_file() and file.suffix not in (".py", ".sqlite", ".db"):
            assert b"7f3a9c2e-SECRET" not in file.read_bytes(), file
