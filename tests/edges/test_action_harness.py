"""``opsbooks.actions``: typed functions as a ``python -m`` program, failures as exit codes.

In-process (``Program.main`` with string streams): the fast tier.
"""

from __future__ import annotations

import errno
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import pytest

import opsbooks as ob
from opsbooks.actions import Arg, Program, Result, output_lines
from opsbooks.define import outputs

CALLS: list[dict[str, object]] = []


class Refused(Exception):
    """A helper's own failure (exit 1)."""


class Misused(Refused):
    """A helper's own bad-usage failure (exit 2); nearer in the MRO, so it wins."""


def version(text: str) -> str:
    if not text[:1].isdigit():
        raise ValueError(text)
    return text


program = Program("python -m tools.demo", "Demo tools: ``copy`` and friends.", errors={
    Refused: 1, Misused: 2,
})  # fmt: skip


@program.command
def copy_files(
    source: Annotated[Path, Arg("source", help="what to copy")],
    target: Annotated[Path, Arg("--to", help="where to")],
    version: Annotated[str, Arg(type=version, help="e.g. 1.4.0")] = "1.0.0",
    mode: Literal["fast", "safe"] = "safe",
    force: bool = False,
    tag: Sequence[str] = (),
    note: str | None = None,
) -> str:
    """Copy ``source`` to the target folder.

    More text that --help does not show.
    """
    CALLS.append(dict(locals()))
    return f"copied {source}"


@program.command(name="pick")
def pick_one(
    artifact: Annotated[Path | None, Arg(one_of="from")] = None,
    manifest: Annotated[Path | None, Arg("--from-manifest", one_of="from")] = None,
) -> Result:
    """Publish outputs for later steps."""
    return Result(
        "picked 1.0.0\n::output target=9.9.9 (a quoted line, not an output)",
        outputs={"target": "1.0.0", "source": str(artifact or manifest)},
    )


@program.command
def fail(kind: Annotated[str, Arg("kind")], url: str = "") -> str:
    """Fail in the way ``kind`` names."""
    failures: dict[str, BaseException] = {
        "opsbooks": ob.BadInput(f"no such host in {url}"),
        "refused": Refused("the tag exists; choose a new version"),
        "misused": Misused("--host names no host"),
        "os": FileNotFoundError(errno.ENOENT, "No such file or directory", "/srv/feed"),
        "bug": KeyError("oops"),
        "interrupt": KeyboardInterrupt(),
        "output": ValueError("unused"),
    }
    raise failures[kind]


@program.command
def bad_output() -> Result:
    """Publish a value that spans lines."""
    return Result("done", outputs={"target": "1.0.0\n::output evil=yes"})


def main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = program.main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_flags_come_from_the_signature() -> None:
    CALLS.clear()
    code, out, err = main(
        "copy-files", "a.txt", "--to", "dist", "--mode", "fast", "--force", "--tag", "x",
        "--tag", "y",
    )  # fmt: skip
    assert (code, out, err) == (0, "copied a.txt\n", "")
    (call,) = CALLS
    assert call == {
        "source": Path("a.txt"), "target": Path("dist"), "version": "1.0.0", "mode": "fast",
        "force": True, "tag": ["x", "y"], "note": None,
    }  # fmt: skip


def test_help_is_the_docstring_summary_and_the_arg_help() -> None:
    parser = program.parser()
    assert parser.description == "Demo tools: copy and friends."
    text = parser.format_help()
    assert "copy-files" in text and "Copy source to the target folder." in text
    assert "More text" not in text
    sub = main("copy-files", "--help")
    assert sub[0] == 0
    usage = " ".join(sub[1].split())
    assert "--to TO" in usage and "--mode {fast,safe}" in usage and "what to copy" in usage


@pytest.mark.parametrize(
    "argv",
    [
        ("copy-files", "a.txt"),  # --to is required
        ("copy-files", "a.txt", "--to", "d", "--version", "banana"),
        ("copy-files", "a.txt", "--to", "d", "--mode", "reckless"),
        ("pick",),  # one of --artifact / --from-manifest
        ("pick", "--artifact", "a", "--from-manifest", "m"),
        ("nonsense",),
    ],
)
def test_bad_usage_exits_2(argv: tuple[str, ...]) -> None:
    code, out, err = main(*argv)
    assert code == 2 and out == ""
    assert "usage:" in err and "Traceback" not in err


def test_outputs_are_printed_as_lines_the_engine_reads() -> None:
    code, out, _ = main("pick", "--from-manifest", "build/1.0.0")
    assert code == 0
    assert out.splitlines()[0] == "picked 1.0.0"
    assert outputs.parse(out) == {"target": "1.0.0", "source": "build/1.0.0"}


@pytest.mark.parametrize(
    ("kind", "code", "said"),
    [
        ("opsbooks", 2, "fail: no such host in postgresql://ops:*****@db/app\n"),
        ("refused", 1, "fail: the tag exists; choose a new version\n"),
        ("misused", 2, "fail: --host names no host\n"),
        ("os", 1, "fail: No such file or directory: /srv/feed\n"),
        ("bug", 1, "fail: unexpected KeyError: 'oops' (a bug in python -m tools.demo)\n"),
        ("interrupt", 130, "fail: interrupted\n"),
    ],
)
def test_a_failure_is_one_line_and_an_exit_code(kind: str, code: int, said: str) -> None:
    got = main("fail", kind, "--url", "postgresql://ops:hunter2@db/app")
    assert got == (code, "", said)
    assert "Traceback" not in got[2] and "hunter2" not in got[2]


def test_an_output_value_cannot_forge_another_output() -> None:
    code, out, err = main("bad-output")
    assert code == 1 and out == ""
    assert "output target = '1.0.0\\n::output evil=yes' spans lines" in err


def test_output_lines_check_names_and_values() -> None:
    assert output_lines({"target": "1.0.0", "count": 3}) == (
        "::output target=1.0.0\n::output count=3"
    )
    with pytest.raises(ValueError, match="not an identifier"):
        output_lines({"bad name": "x"})
    with pytest.raises(ValueError, match="spans lines"):
        output_lines({"x": "a\rb"})


def test_a_hand_built_subcommand_gets_the_same_failure_handling() -> None:
    tools = Program("python -m tools.hand", "Hand-built.")
    parser = tools.add("greet", lambda a: f"hello {a.name}", "Say hello.")
    parser.add_argument("--name", required=True)
    out, err = io.StringIO(), io.StringIO()
    assert tools.main(["greet", "--name", "ada"], out=out, err=err) == 0
    assert out.getvalue() == "hello ada\n"
    broken = tools.add("explode", lambda a: {}["x"], "Fail.")
    assert broken.prog.endswith("explode")
    assert tools.main(["explode"], out=out, err=err) == 1
    assert "unexpected KeyError" in err.getvalue()


percent = Program("python -m tools.pct", "Tools whose help says 100%.")


@percent.command
def fill(level: Annotated[int, Arg(help="warn above this %, e.g. 90%")] = 90) -> str:
    """Report disks above 90% full."""
    return f"::output level={level}"


def test_a_percent_sign_in_help_texts_is_shown_as_written() -> None:
    code, out, err = _main_of(percent, "fill", "--help")
    assert code == 0, err
    assert "warn above this %, e.g. 90%" in " ".join(out.split())
    code, out, _ = _main_of(percent, "--help")
    assert code == 0 and "Report disks above 90% full." in out


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_reader_that_went_away_is_not_a_traceback() -> None:
    assert percent.main(["fill"], out=_ClosedPipe(), err=io.StringIO()) == 0


def _main_of(prog: Program, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return prog.main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()
