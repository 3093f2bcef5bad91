"""``opsbooks --version`` / ``-V`` / ``python -m opsbooks``, and shell completion: the
candidates ``opsbooks __complete`` computes (in-process), and the printed bash script
driven by a real bash with ``COMP_WORDS``/``COMP_CWORD`` (slow tier)."""

from __future__ import annotations

import importlib.metadata
import os
import pty
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from cli_kit import PYTHON, REPO, write_project

from opsbooks.edges.cli.completion import SCRIPTS, rejoin
from opsbooks.edges.cli.main import main, source_version, wants_version

OPSBOOKS = str(Path(PYTHON).parent / "opsbooks")
VERSION = importlib.metadata.version("opsbooks")

RUNBOOK = '''
from typing import Literal


class Rotate(ob.Runbook):
    """Rotate the service's log files."""

    name = "logs.rotate"
    owner = "sre"
    scope = "The demo service's logs."
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        service: str = ob.Field(pattern=r"^[a-z]+$", description="the service")
        level: Literal["info", "debug"] = ob.Field(default="info", description="log level")
        compress: bool = ob.Field(default=True, description="gzip the old files")

    rotate = ob.Command("echo rotating {service}", idempotent=True)


class Archive(ob.Runbook):
    """Archive old log files."""

    name = "logs.archive"
    owner = "sre"
    scope = "The demo service's logs."
    last_reviewed = "2026-12-02"

    archive = ob.Command("echo archived", idempotent=True)
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = write_project(tmp_path / "project", {"logs/tools": RUNBOOK}, package="complbooks")
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    return root


def _complete(capsys: pytest.CaptureFixture[str], *words: str) -> list[str]:
    assert main(["__complete", "bash", "--", *words]) == 0
    return capsys.readouterr().out.splitlines()


# --- version (fast) -------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--version"], ["-V"], ["--config", "x.toml", "-V"]])
def test_version_prints_the_installed_version(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    assert capsys.readouterr().out == f"opsbooks {VERSION}\n"


def test_version_is_asked_only_before_the_command_word() -> None:
    assert wants_version(["--config", "-V", "--version"])  # -V is the config path's value
    assert not wants_version(["run", "x.y", "-V"])  # the runbook's own flags
    assert not wants_version([])


def test_the_source_version_comes_from_pyproject_when_not_installed(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "opsbooks"\nversion = "9.8.7"\n')
    assert source_version(pyproject) == "9.8.7"
    assert source_version(REPO / "pyproject.toml") == VERSION
    pyproject.write_text("[project\n")
    assert source_version(pyproject) == "unknown"
    assert source_version(tmp_path / "missing.toml") == "unknown"


# --- completion candidates (fast, in-process) -----------------------------------------


def test_commands_complete_and_the_hidden_one_is_not_offered(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    everything = _complete(capsys, "")
    assert {"run", "resume", "list", "completion", "history"} <= set(everything)
    assert "__complete" not in everything
    assert _complete(capsys, "re") == ["report", "resume", "review"]
    assert _complete(capsys, "--") == ["--config", "--help", "--version"]
    assert _complete(capsys, "completion", "") == ["bash", "zsh", "fish"]


def test_runbook_names_complete_for_the_commands_that_take_one(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _complete(capsys, "run", "logs.") == ["logs.archive", "logs.rotate"]
    assert _complete(capsys, "show", "logs.r") == ["logs.rotate"]
    assert _complete(capsys, "lint", "logs.rotate", "logs.a") == ["logs.archive"]
    assert _complete(capsys, "history", "nothing.") == []


def test_a_runbooks_params_complete_as_flags_with_their_choices(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = _complete(capsys, "run", "logs.rotate", "--")
    assert flags[:4] == ["--service", "--level", "--compress", "--no-compress"]
    assert {"--dry-run", "--answers", "--yes", "--help"} <= set(flags)
    assert "--mark-done" not in flags  # a resume option
    assert _complete(capsys, "run", "logs.rotate", "--level", "") == ["info", "debug"]
    assert _complete(capsys, "run", "logs.rotate", "--service", "") == []
    assert _complete(capsys, "run", "logs.nothing", "--") == []
    assert "--mark-done" in _complete(capsys, "resume", "--")


def test_a_choice_completes_after_flag_equals_as_bash_splits_it_and_as_zsh_keeps_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # bash splits at "=" (COMP_WORDBREAKS) and replaces only what follows it: bare values
    assert _complete(capsys, "run", "logs.rotate", "--level", "=") == ["info", "debug"]
    assert _complete(capsys, "run", "logs.rotate", "--level", "=", "d") == ["debug"]
    assert _complete(capsys, "run", "logs.rotate", "--level", "=", "info", "--se") == ["--service"]
    assert _complete(capsys, "run", "logs.rotate", "--service", "=") == []  # free text
    # zsh and fish hand over "--level=" as one word and insert the whole candidate
    assert main(["__complete", "zsh", "--", "run", "logs.rotate", "--level=d"]) == 0
    assert capsys.readouterr().out.splitlines() == ["--level=debug"]
    assert main(["__complete", "fish", "--", "run", "logs.rotate", "--level="]) == 0
    assert capsys.readouterr().out.splitlines() == ["--level=info", "--level=debug"]


def test_bash_words_split_at_equals_are_joined_back(project: Path) -> None:
    assert rejoin(["run", "x", "--level", "="]) == (["run", "x", "--level="], True)
    assert rejoin(["run", "x", "--level", "=", "d"]) == (["run", "x", "--level=d"], True)
    assert rejoin(["--level", "=", "d", "--s"]) == (["--level=d", "--s"], False)
    assert rejoin(["a", "=", "b"]) == (["a", "=", "b"], False)  # not after a flag


def test_every_commands_options_and_sub_commands_come_from_its_parser(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = _complete(capsys, "evidence", "")
    assert {"verify", "--since", "--until", "--out", "--help"} <= set(evidence)
    assert _complete(capsys, "evidence", "v") == ["verify"]
    assert _complete(capsys, "evidence", "--s") == ["--since"]
    assert _complete(capsys, "evidence", "--since", "") == []  # a date: nothing to offer
    assert "verify" not in _complete(capsys, "evidence", "verify", "")
    assert _complete(capsys, "history", "--l") == ["--limit"]
    assert "--format" in _complete(capsys, "lint", "--")
    assert _complete(capsys, "show", "logs.rotate", "--") == ["--help"]
    assert _complete(capsys, "run", "logs.rotate", "--answers", "") == []  # a file
    assert {"--mark-done", "--reason", "--force"} <= set(_complete(capsys, "resume", "--"))


def test_config_on_the_line_chooses_the_catalog(
    tmp_path: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write_project(
        tmp_path / "other",
        {"db/vacuum": RUNBOOK.replace('"logs.', '"db.')},
        package="complother",
    )
    words = ["--config", str(other / "opsbooks.toml"), "run", ""]
    assert _complete(capsys, *words) == ["db.archive", "db.rotate"]


def test_a_broken_configuration_completes_nothing_and_prints_no_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "bad.toml").write_text("packages = [\n")
    assert main(["__complete", "bash", "--", "--config", "bad.toml", "run", ""]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_each_script_calls_the_candidate_command(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert script == SCRIPTS[shell]
    assert f"__complete {shell} -- " in script
    assert "opsbooks" in script.splitlines()[-1]  # registered for the program


# --- real processes (slow) ------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSBOOKS_")}
    path = f"{Path(PYTHON).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PATH": path, **extra}


@pytest.mark.slow
def test_the_program_and_python_m_print_the_version_without_loading_the_catalog(
    tmp_path: Path,
) -> None:
    for argv in ([OPSBOOKS, "--version"], [PYTHON, "-m", "opsbooks", "-V"]):
        done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=_env())
        assert (done.returncode, done.stdout, done.stderr) == (0, f"opsbooks {VERSION}\n", "")
    probe = (
        "import sys\n"
        "import opsbooks\n"
        "facade = set(sys.modules)\n"
        "from opsbooks.edges.cli.main import main\n"
        "main(['--version'])\n"
        "print(' '.join(sorted(set(sys.modules) - facade)))\n"
    )
    done = subprocess.run(
        [PYTHON, "-c", probe], capture_output=True, text=True, cwd=REPO, env=_env(), check=True
    )
    added = set(done.stdout.splitlines()[-1].split())
    # beyond ``import opsbooks``: the CLI's own module, never config, catalog or runner
    ours = {m for m in added if m.split(".")[0] in ("opsbooks", "opsbooks_playbooks", "pydantic")}
    assert ours == {"opsbooks.edges", "opsbooks.edges.cli", "opsbooks.edges.cli.main"}


BASH_DRIVER = """
source "$1"
shift
complete -p opsbooks
for line in "$@"; do
    read -r -a COMP_WORDS <<< "$line"
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMPREPLY=()
    _opsbooks_complete
    echo "== $line"
    printf '%s\\n' "${COMPREPLY[@]}"
done
"""


@pytest.mark.slow
def test_bash_completes_commands_runbooks_and_params_through_the_printed_script(
    project: Path,
) -> None:
    script = project / "opsbooks.bash"
    printed = subprocess.run(
        [OPSBOOKS, "completion", "bash"], capture_output=True, text=True, check=True, env=_env()
    )
    script.write_text(printed.stdout)
    lines = ["opsbooks ru", "opsbooks run logs.r", "opsbooks run logs.rotate --level "]
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", BASH_DRIVER, "bash", str(script), *lines],
        capture_output=True,
        text=True,
        cwd=project,
        env=_env(),
        check=True,
        timeout=60,
    )
    registration, *rest = done.stdout.split("\n== ")
    assert registration == "complete -o default -F _opsbooks_complete opsbooks"
    got = {case.split("\n")[0]: [w for w in case.split("\n")[1:] if w] for case in rest}
    assert got == {
        "opsbooks ru": ["run"],
        "opsbooks run logs.r": ["logs.rotate"],
        "opsbooks run logs.rotate --level ": ["info", "debug"],
    }


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_load_when_the_shell_is_installed(shell: str, project: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here (the script's text is checked above)")
    script = project / f"opsbooks.{shell}"
    script.write_text(SCRIPTS[shell])
    check = ["zsh", "-n", str(script)] if shell == "zsh" else ["fish", "--no-execute", str(script)]
    subprocess.run(check, check=True, capture_output=True, timeout=60)


def _tab_in_interactive_bash(
    project: Path, script: Path, lines: list[str]
) -> dict[str, tuple[str, str]]:
    """Type each line into a real interactive bash on a pty and press TAB once: by line,
    what readline printed (a listing) and the line it left in its buffer."""
    env = _env(PS1="PROMPT> ", TERM="dumb", INPUTRC="/dev/null", HISTFILE="/dev/null")
    leader, follower = pty.openpty()
    shell = subprocess.Popen(
        ["bash", "--norc", "--noprofile", "-i"],
        stdin=follower, stdout=follower, stderr=follower, cwd=project, env=env,
        start_new_session=True,
    )  # fmt: skip
    os.close(follower)
    seen = b""

    def until(marker: bytes) -> bytes:
        nonlocal seen
        deadline = time.monotonic() + 30
        while marker not in seen and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                seen += os.read(leader, 65536)
        head, found, seen = seen.partition(marker)
        assert found, f"bash never printed {marker!r}; it printed {head!r}"
        return head

    show = """bind -x '"\\C-t": printf "<<%s>>\\n" "$READLINE_LINE"'"""  # C-t: the buffer
    try:
        setup = f"source {script}; bind 'set show-all-if-ambiguous on'; {show}; echo READY\n"
        os.write(leader, setup.encode())
        until(b"\r\nREADY\r\n")
        got: dict[str, tuple[str, str]] = {}
        for line in lines:
            os.write(leader, f"{line}\t\x14".encode())  # the words, TAB, show the buffer
            printed = until(b"<<").decode(errors="replace")
            buffer = until(b">>").decode(errors="replace")
            os.write(leader, b"\x15")  # kill the line: nothing is ever run
            got[line] = (printed, buffer)
        return got
    finally:
        os.close(leader)
        shell.kill()
        shell.wait(timeout=10)


@pytest.mark.slow
def test_interactive_bash_completes_flag_equals_choices_and_evidence_options(
    project: Path,
) -> None:
    script = project / "opsbooks.bash"
    script.write_text(SCRIPTS["bash"])
    (project / "notes.txt").touch()  # what bash's file fallback would offer instead
    got = _tab_in_interactive_bash(
        project,
        script,
        [
            "opsbooks run logs.rotate --level=",
            "opsbooks run logs.rotate --level=d",
            "opsbooks run logs.rotate --level ",
            "opsbooks evidence ",
            "opsbooks evidence --u",
        ],
    )
    listed, buffer = got["opsbooks run logs.rotate --level="]
    assert re.search(r"debug\s+info", listed) and "notes.txt" not in listed
    assert buffer == "opsbooks run logs.rotate --level="  # two choices: listed, not inserted
    assert got["opsbooks run logs.rotate --level=d"][1] == "opsbooks run logs.rotate --level=debug "
    assert re.search(r"debug\s+info", got["opsbooks run logs.rotate --level "][0])
    listed, _ = got["opsbooks evidence "]
    assert re.search(r"--help\s+--out\s+--since\s+--until\s+verify", listed)
    assert "notes.txt" not in listed
    assert got["opsbooks evidence --u"][1] == "opsbooks evidence --until "
