"""Secrecy is a property of the value wherever it flows (issue 13, items 13 and 17).

Each test is the regression for one path that leaked or misbehaved: containers of
``SecretStr``, a secret straddling a read chunk, a ``ParamsError``, a gate phrase, a
shell-quoted secret, an output derived from a secret, a secret gate's answer, and a
catastrophic ``secret_patterns`` regex.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from reliability_helpers import cli, make_project

import opsbooks as ob
from opsbooks.define.params import REDACTED
from opsbooks.edges.config import Config
from opsbooks.edges.console import Console
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.errors import BadInput
from opsbooks.records.redaction import UNMATCHABLE, Redactor, StreamRedactor
from opsbooks.testing import Drill

C1, C2, C3, C4 = "canaryA-11aa", "canaryB-22bb", "canaryC-33cc", "canaryD-44dd"
QUOTED = "can'ary E 55"  # shell-quoting rewrites it: 'can'"'"'ary E 55'
GATE = "canaryG-gate-77"

SHAPES = '''
class Shapes(ob.Runbook):
    """Use a secret of every shape, then fail at the last step."""

    name = "taint.shapes"
    scope = "Nothing real."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        one: ob.SecretStr
        many: list[ob.SecretStr]
        keyed: dict[str, ob.SecretStr]
        maybe: ob.SecretStr | None = None

    show = ob.Command(
        "echo $ONE $MANY $KEYED $MAYBE",
        env={"ONE": "{one}", "MANY": "{many}", "KEYED": "{keyed.k}", "MAYBE": "{maybe}"},
    )
    fail = ob.Command("test -e flag")
'''


def _everything(root: Path, *runs: object) -> bytes:
    blobs = [
        path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".yaml")  # the user's own inputs
    ]
    blobs += [
        str(getattr(r, "stdout", "")).encode() + str(getattr(r, "stderr", "")).encode()
        for r in runs
    ]
    return b"\n".join(blobs)


def _shapes_project(tmp_path: Path) -> Path:
    root, _ = make_project(tmp_path / "p", {"taint/shapes": SHAPES})
    return root


def test_secret_containers_never_show_and_resume_never_uses_the_mask(tmp_path: Path) -> None:
    root = _shapes_project(tmp_path)
    env = {
        "OPSBOOKS_SECRET_ONE": C1,
        "OPSBOOKS_SECRET_MANY": json.dumps([C2, "canaryB2-x"]),
        "OPSBOOKS_SECRET_KEYED": json.dumps({"k": C3}),
        "OPSBOOKS_SECRET_MAYBE": C4,
    }
    first = cli(root, "run", "taint.shapes", **env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "| ***** ***** ***** ***** *****" in first.stdout
    refused = cli(root, "resume", "last", OPSBOOKS_SECRET_ONE=C1)  # the list is not stored
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "never stored" in refused.stderr and "OPSBOOKS_SECRET_" in refused.stderr
    (root / "flag").write_text("")
    resumed = cli(root, "resume", "last", **env)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    report = cli(root, "report", "last")
    blob = _everything(root, first, refused, resumed, report)
    for canary in (C1, C2, "canaryB2-x", C3, C4):
        assert canary.encode() not in blob
    assert b"**********" not in _journal_params(root)


def _journal_params(root: Path) -> bytes:
    import sqlite3

    with sqlite3.connect(root / ".opsbooks" / "journal.db") as db:
        return "".join(str(row) for row in db.execute("SELECT params FROM runs")).encode()


def test_a_secret_straddling_every_chunk_boundary_never_reaches_the_console() -> None:
    secret = "straddle-9f8e7d6c5b4a"
    text = "x" * 37 + secret + "\n" + "y" * 5 + secret + secret + " end\n"
    for size in range(1, len(secret) + 3):
        out = io.StringIO()
        console = Console(out, Redactor([secret]))
        for start in range(0, len(text), size):
            console.write(text[start : start + size])
        console.end_output()
        assert secret not in out.getvalue(), size
        assert secret[:6] not in out.getvalue().replace("straddle", "", 0), size
        assert out.getvalue().count(REDACTED) == 3


def test_a_secret_across_the_1000_byte_read_chunk_is_redacted_on_a_real_run(
    tmp_path: Path,
) -> None:
    body = '''
    class Chunky(ob.Runbook):
        """Print the secret where invoke's 1000-byte reads cut it."""

        name = "taint.chunky"
        scope = "Nothing real."
        owner = "Reliability"
        last_reviewed = "2026-11-01"

        class Params(ob.Params):
            token: ob.SecretStr

        show = ob.Command(
            "for n in 990 993 995 997 998 999 1000; do "
            "printf '%*s' $n '' | tr ' ' x; echo \\"$TOKEN\\"; done",
            env={"TOKEN": "{token}"},
        )
    '''
    root, _ = make_project(tmp_path / "p", {"taint/chunky": body})
    done = cli(root, "run", "taint.chunky", OPSBOOKS_SECRET_TOKEN=C1)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(REDACTED) == 7
    assert C1[:5] not in done.stdout.replace("canary", "")  # no half of it either
    assert C1.encode() not in _everything(root)


def test_params_error_never_echoes_a_secret_field_whatever_its_name() -> None:
    class P(ob.Params):
        db: ob.SecretStr = ob.Field(max_length=4)
        pins: list[ob.SecretStr] = []

    class Book(ob.Runbook):
        """Take a constrained secret."""

        name = "taint.params"
        scope = "Nothing real."
        owner = "Reliability"
        last_reviewed = "2026-11-01"
        Params = P
        noop = ob.Command("true")

    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        interactive=False,
        environ={},
        install_signal_handlers=False,
    )
    with pytest.raises(BadInput) as caught:
        start_run(
            Invocation(runbook=Book.name, params={"db": "TooLongSecret", "pins": [7]}),
            Config(root=Path("/tmp")),
            surroundings,
            Catalog([Book]),
        )
    assert "--db" in str(caught.value)
    assert "TooLong" not in str(caught.value)


def test_shell_quoted_and_json_escaped_forms_of_a_secret_are_redacted() -> None:
    import shlex

    redactor = Redactor([QUOTED])
    assert QUOTED not in redactor.text(shlex.quote(QUOTED))
    assert "ary E 55" not in redactor.text(f"cmd {shlex.quote(QUOTED)}")
    assert "ary E 55" not in redactor.text(json.dumps({"v": QUOTED}))


TAINTED = '''
class Tainted(ob.Runbook):
    """Derive an output from a secret; a later step uses it, then fails."""

    name = "taint.outputs"
    scope = "Nothing real."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        token: ob.SecretStr

    derive = ob.Command(
        "echo ::output auth=Bearer-$TOKEN; echo ::output plain=v1",
        env={"TOKEN": "{token}"},
        outputs=("auth", "plain"),
    )
    use = ob.Command(
        "test \\"$AUTH\\" = \\"Bearer-$TOKEN\\" && test -e flag",
        env={"AUTH": "{outputs.auth}", "TOKEN": "{token}"},
    )
'''


def test_an_output_derived_from_a_secret_is_tainted_and_resume_refuses_the_mask(
    tmp_path: Path,
) -> None:
    root, _ = make_project(tmp_path / "p", {"taint/outputs": TAINTED})
    first = cli(root, "run", "taint.outputs", OPSBOOKS_SECRET_TOKEN=C1)
    assert first.returncode == 1, first.stdout + first.stderr
    (root / "flag").write_text("")
    resumed = cli(root, "resume", "last", OPSBOOKS_SECRET_TOKEN=C1)
    assert resumed.returncode == 2, resumed.stdout + resumed.stderr
    said = resumed.stdout + resumed.stderr
    assert "derived from a secret" in said and "outputs.auth" in said
    journal = _everything(root).decode(errors="replace")
    assert '{"outputs": {"auth": "*****", "plain": "v1"}, "tainted_outputs": ["auth"]}' in journal
    report = cli(root, "report", "last", "--format", "json")
    assert C1 not in report.stdout
    assert C1.encode() not in _everything(root, first, resumed, report)


SECRET_GATE = '''
class SecretGate(ob.Runbook):
    """Ask for a token at a secret gate; use it; fail once."""

    name = "taint.gate"
    scope = "Nothing real."
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        label: str = "x"

    token = ob.Gate.ask("Paste the token", secret=True)
    phrase = ob.Gate("Type the label", phrase="{label}")

    @ob.step(title="Use the token")
    def use(self, ctx: ob.StepContext) -> None:
        value = ctx.answers["token"]
        assert isinstance(value, ob.SecretStr), type(value)
        print("using", value.get_secret_value())
        if not (ctx.workdir / "flag").exists():
            raise RuntimeError(f"not yet with {value.get_secret_value()}")
'''


def test_a_secret_gate_answer_is_never_stored_and_is_asked_again_on_resume(
    tmp_path: Path,
) -> None:
    root, _ = make_project(tmp_path / "p", {"taint/gate": SECRET_GATE})
    answers = root / "answers.yaml"
    answers.write_text(f"token: {GATE}\nphrase: x\n")
    first = cli(root, "run", "taint.gate", "--answers", str(answers))
    assert first.returncode == 1, first.stdout + first.stderr
    assert "not yet with *****" in first.stdout
    (root / "flag").write_text("")
    silent = cli(root, "resume", "last")  # the answer was not stored: asked again
    assert silent.returncode == 3, silent.stdout + silent.stderr
    assert "token" in silent.stdout
    resumed = cli(root, "resume", "last", "--answers", str(answers))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    report = cli(root, "report", "last")
    assert GATE.encode() not in _everything(root, first, silent, resumed, report)


def test_a_phrase_made_of_a_secret_is_never_shown_at_the_terminal(tmp_path: Path) -> None:
    class Book(ob.Runbook):
        """Confirm by typing a secret phrase."""

        name = "taint.phrase"
        scope = "Nothing real."
        owner = "Reliability"
        last_reviewed = "2026-11-01"

        class Params(ob.Params):
            token: ob.SecretStr

        confirm = ob.Gate("Type the token to go on", phrase="{token}")

    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(f"wrong\n{C1}\n"),
        stdout=out,
        interactive=True,
        environ={"OPSBOOKS_SECRET_TOKEN": C1, "OPSBOOKS_USER": "t"},
        install_signal_handlers=False,
    )
    report = start_run(
        Invocation(runbook=Book.name), Config(root=tmp_path), surroundings, Catalog([Book])
    )
    assert report is not None and report.outcome.value == "succeeded"
    assert C1 not in out.getvalue() and "*****" in out.getvalue()


def test_a_catastrophic_secret_pattern_is_bounded_and_fails_closed() -> None:
    for pattern in (r"(a+)+$", r"(a|aa)+$"):  # the engine sees through the first one
        redactor = Redactor(patterns=[pattern])
        started = time.monotonic()
        assert redactor.text("a" * 32 + "b") in ("a" * 32 + "b", UNMATCHABLE)
        assert time.monotonic() - started < 2
    assert redactor.text("a" * 32 + "b") == UNMATCHABLE  # timed out: fails closed
    assert Redactor(patterns=[r"sk_[a-z]+"]).text("key sk_live ok") == "key ***** ok"
    stream = StreamRedactor(Redactor(patterns=[r"(a|aa)+$"]))
    assert UNMATCHABLE in stream.feed("a" * 32 + "b\n") + stream.drain()


def test_a_catastrophic_secret_pattern_cannot_hang_a_run(tmp_path: Path) -> None:
    body = '''
    class Slow(ob.Runbook):
        """Print what a catastrophic pattern chokes on."""

        name = "taint.regex"
        scope = "Nothing real."
        owner = "Reliability"
        last_reviewed = "2026-11-01"

        show = ob.Command("for i in 1 2 3; do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab; done")
    '''
    root, _ = make_project(
        tmp_path / "p",
        {"taint/regex": body},
        extra_toml="secret_patterns = ['(a+)+$', '(a|aa)+$']\n",
    )
    started = time.monotonic()
    done = cli(root, "run", "taint.regex", timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 30
    assert "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab" not in done.stdout
    assert UNMATCHABLE in done.stdout


def test_a_pattern_the_engine_cannot_compile_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a regular expression"):
        Config(root=tmp_path, secret_patterns=["(unclosed"])
    Drill(root=tmp_path, settings={"secret_patterns": [r"(a+)+$"]}).config  # noqa: B018
