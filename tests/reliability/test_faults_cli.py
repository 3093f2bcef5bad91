"""Issue 13 item 19 through the real CLI: a full disk, a closed stdout, params too long
or not UTF-8, a corrupted journal, malformed audit files. Each ends in a clear
one-paragraph message (or a clean result), never a traceback (item 20:
test_catalog_cli.py)."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_helpers import PYTHON, cli, cli_env, make_project, query

pytestmark = pytest.mark.slow

STEPS = "\n".join(
    f'    s{n} = ob.Command("echo s{n} >> s{n}.count", idempotent=True)' for n in range(40)
)
MANY = f'''
class Many(ob.Runbook):
    """Forty small steps: forty journal writes, each counting its runs in a file."""

    name = "ft.many"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

{STEPS}
'''

AFTER = "\n".join(
    f'    a{n} = ob.Command("echo a{n} >> a{n}.count", idempotent=True)' for n in range(30)
)
FILL = f'''
class Fill(ob.Runbook):
    """fill uses up the state dir's disk; the steps after it are journaled on a full disk."""

    name = "ft.fill"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    before = ob.Command("echo before >> before.count")
    fill = ob.Command(
        "echo fill >> fill.count; [ -e no-fill ] || head -c 4000000 /dev/zero > state/fill; true",
        idempotent=True,
    )
{AFTER}
'''


def assert_clean(result: subprocess.CompletedProcess[str], *codes: int) -> None:
    """No traceback; a refusal (exit 2) is one paragraph starting ``opsbooks:``."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    assert result.returncode in codes, (result.returncode, text)
    if result.returncode == 2:
        assert result.stderr.startswith("opsbooks: "), result.stderr
        assert "\n\n" not in result.stderr.strip(), result.stderr


def _counts(root: Path, steps: list[str]) -> list[int]:
    paths = [root / f"{s}.count" for s in steps]
    return [len(p.read_text().splitlines()) if p.exists() else 0 for p in paths]


def _run_ids(root: Path) -> list[str]:
    return [str(row[0]) for row in query(root, "SELECT id FROM runs")]


def _outcome(root: Path, run_id: str) -> str:
    return str(query(root, "SELECT outcome FROM runs WHERE id=?", run_id)[0][0])


def _seen_outcome(root: Path, run_id: str) -> str:
    """The outcome ``history`` shows (a runner killed by a full disk cannot record its end)."""
    history = cli(root, "history")
    assert_clean(history, 0)
    (line,) = [row for row in history.stdout.splitlines() if row.startswith(run_id)]
    return line.split()[-1]


# -- (a) a full disk ---------------------------------------------------------------------------


def _resumes_once_space_is_back(root: Path, steps: list[str]) -> None:
    (run_id,) = _run_ids(root)
    history = cli(root, "history")
    assert_clean(history, 0)
    resumed = cli(root, "resume", run_id, "--yes")
    assert_clean(resumed, 0)
    assert _outcome(root, run_id) == "succeeded"
    assert all(n >= 1 for n in _counts(root, steps)), _counts(root, steps)
    assert cli(root, "audit", "verify", run_id).returncode == 0


def test_full_disk_on_a_tmpfs_state_dir(tmp_path: Path) -> None:
    extra = 'state_dir = ".opsbooks"\n'  # a 2 MiB tmpfs is mounted on it
    root, _ = make_project(tmp_path / "p", {"ft/fill": FILL}, extra_toml=extra)
    state = root / ".opsbooks"
    state.mkdir()
    (root / "state").symlink_to(state)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(state)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the RLIMIT_FSIZE "
                    "variant below covers a full disk without mount")  # fmt: skip
    try:
        full = cli(root, "run", "ft.fill", "--yes")
        assert_clean(full, 1, 2, 3)
        assert full.returncode != 0
        said = full.stdout + full.stderr
        assert "disk space" in said or "disk is full" in said, said  # audit or journal first
        steps = ["before", "fill", *(f"a{n}" for n in range(30))]
        assert _counts(root, steps)[-1] == 0
        (state / "fill").unlink()
        (root / "no-fill").touch()
        (run_id,) = _run_ids(root)
        assert _seen_outcome(root, run_id) == "interrupted"
        _resumes_once_space_is_back(root, steps)
        assert _counts(root, ["before"]) == [1] and max(_counts(root, steps)) <= 2
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)


def _limited(max_bytes: int) -> Callable[[], None]:
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


def test_full_disk_through_a_file_size_limit(tmp_path: Path) -> None:
    """No mount needed: every file the run writes stops growing at a few KiB."""
    root, _ = make_project(tmp_path / "p", {"ft/many": MANY})
    assert cli(root, "history").returncode == 0  # the journal exists, at its initial size
    room = (root / ".opsbooks" / "journal.db").stat().st_size
    full = subprocess.run(
        [PYTHON, "-m", "opsbooks", "run", "ft.many", "--yes"],
        cwd=root, env=cli_env(), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, preexec_fn=_limited(room), check=False,
    )  # fmt: skip
    assert_clean(full, 1, 2, 3)
    assert full.returncode != 0
    assert "disk space" in full.stderr and "resume" in full.stderr, full.stderr
    assert len(full.stderr.strip().splitlines()) == 1, full.stderr
    (run_id,) = _run_ids(root)
    assert _seen_outcome(root, run_id) == "interrupted", full.stderr
    steps = [f"s{n}" for n in range(40)]
    counts = _counts(root, steps)
    assert counts[0] == 1 and 0 in counts, counts  # it stopped part way
    _resumes_once_space_is_back(root, steps)
    assert max(_counts(root, steps)) <= 2  # only the step in flight may run again


# -- (b) a closed stdout -----------------------------------------------------------------------


def test_a_closed_stdout_runs_cleanly(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"ft/many": MANY})
    result = subprocess.run(
        ["sh", "-c", f'exec "{PYTHON}" -m opsbooks run ft.many --yes >&-'],
        cwd=root, env=cli_env(), capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "AttributeError" not in result.stderr
    assert result.returncode == 0, result.stderr
    (run_id,) = _run_ids(root)
    assert _outcome(root, run_id) == "succeeded"
    assert _counts(root, [f"s{n}" for n in range(40)]) == [1] * 40
    assert "s0" not in result.stderr  # progress went to the (closed) stdout, not stderr
    assert cli(root, "audit", "verify", run_id).returncode == 0


# -- (c) and (d): param values no command can take -----------------------------------------

ECHO = '''
class Echo(ob.Runbook):
    """first counts its runs; say passes msg to a command."""

    name = "ft.echo"
    scope = "a file"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        msg: str = "hello"

    first = ob.Command("echo first >> first.count")
    say = ob.Command("printf %s {msg} > said.txt")
'''


def test_a_param_too_long_for_an_argv_is_refused_before_any_step(tmp_path: Path) -> None:
    huge = "x" * 200_000  # over Linux's 128 KiB for one argv string (MAX_ARG_STRLEN)
    extra = f'[params."ft.echo"]\nmsg = "{huge}"\n'
    root, _ = make_project(tmp_path / "p", {"ft/echo": ECHO}, extra_toml=extra)
    refused = cli(root, "run", "ft.echo", "--yes")
    assert_clean(refused, 2)
    assert "too long" in refused.stderr and "env" in refused.stderr, refused.stderr
    assert huge not in refused.stderr and len(refused.stderr) < 2000
    assert _counts(root, ["first"]) == [0] and _run_ids(root) == []


ENV_ECHO = ECHO.replace(
    'ob.Command("printf %s {msg} > said.txt")',
    'ob.Command("printf %s \\"$MSG\\" > said.txt", env={"MSG": "{msg}"})',
)


def test_an_env_value_too_long_for_execve_fails_its_step_not_the_terminal(
    tmp_path: Path,
) -> None:
    extra = f'[params."ft.echo"]\nmsg = "{"y" * 200_000}"\n'
    root, _ = make_project(tmp_path / "p", {"ft/echo": ENV_ECHO}, extra_toml=extra)
    failed = cli(root, "run", "ft.echo", "--yes")
    assert_clean(failed, 1)
    assert "argument list too long" in failed.stdout + failed.stderr
    assert "lost the terminal" not in failed.stdout + failed.stderr
    assert _counts(root, ["first"]) == [1] and not (root / "said.txt").exists()


def test_a_param_that_is_not_utf8_is_refused_before_any_step(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"ft/echo": ECHO})
    refused = subprocess.run(
        [PYTHON.encode(), b"-m", b"opsbooks", b"run", b"ft.echo", b"--msg", b"ok\xff\xfe",
         b"--yes"],
        cwd=root, env=cli_env(), capture_output=True, timeout=60,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    text = subprocess.CompletedProcess(
        refused.args, refused.returncode, refused.stdout.decode(), refused.stderr.decode()
    )
    assert_clean(text, 2)
    assert "--msg" in text.stderr and "UTF-8" in text.stderr and "0xff" in text.stderr
    assert _counts(root, ["first"]) == [0] and _run_ids(root) == []


# -- (e) a corrupted journal.db ----------------------------------------------------------------

GATED = '''
class Gated(ob.Runbook):
    """one, a gate, two."""

    name = "ft.gated"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    one = ob.Command("echo one >> one.count")
    ask = ob.Gate.confirm("Go on?")
    two = ob.Command("echo two >> two.count")
'''


def _stopped(tmp_path: Path) -> tuple[Path, str]:
    root, _ = make_project(tmp_path / "p", {"ft/gated": GATED})
    stopped = cli(root, "run", "ft.gated")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    (run_id,) = _run_ids(root)
    return root, run_id


def _overwrite_middle(db: Path) -> None:
    data = bytearray(db.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4096] = os.urandom(4096)
    db.write_bytes(bytes(data))


def _truncate(db: Path) -> None:
    with db.open("r+b") as handle:
        handle.truncate(db.stat().st_size // 3)


def _every_command(root: Path, run_id: str) -> None:
    for args in (
        ("history",),
        ("show", "ft.gated"),
        ("report", run_id),
        ("audit", "verify", run_id),
        ("resume", run_id, "--yes"),
        ("run", "ft.gated", "--yes"),
    ):
        result = cli(root, *args)
        assert "Traceback" not in result.stdout + result.stderr, (args, result.stderr)
        assert_clean(result, 0, 1, 2, 3)


@pytest.mark.parametrize("damage", [_overwrite_middle, _truncate], ids=["random", "truncated"])
def test_a_damaged_journal_file_gives_clear_errors(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    root, run_id = _stopped(tmp_path)
    db = root / ".opsbooks" / "journal.db"
    for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        extra.unlink(missing_ok=True)
    damage(db)
    _every_command(root, run_id)


def test_a_wal_deleted_after_a_crash_gives_clear_errors(tmp_path: Path) -> None:
    root, _ = make_project(
        tmp_path / "p", {"ft/many": MANY.replace("echo s", "sleep 0.02; echo s")}
    )
    runner = subprocess.Popen(
        [PYTHON, "-m", "opsbooks", "run", "ft.many", "--yes"],
        cwd=root, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while not (root / "s10.count").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.kill()
    runner.wait()
    wal = root / ".opsbooks" / "journal.db-wal"
    assert wal.exists()
    wal.unlink()
    Path(f"{wal}".replace("-wal", "-shm")).unlink(missing_ok=True)
    # detected, not prevented: the journal's seal counts more commits than are left
    refused = cli(root, "history")
    assert refused.returncode == 2 and "lost committed writes" in refused.stderr
    assert_clean(refused, 2)
    _every_command(root, "no-such-run")


# -- (f) malformed audit files -----------------------------------------------------------------


def _bad_seq(path: Path) -> None:
    lines = path.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["seq"] = "one"
    path.write_text("\n".join([json.dumps(entry), *lines[1:]]) + "\n")


def _bad_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] = 0xFF
    path.write_bytes(bytes(data))


def _deep(path: Path) -> None:
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize("damage", [_bad_seq, _bad_byte, _deep, _directory],
                         ids=["seq", "xff", "deep", "directory"])  # fmt: skip
def test_a_malformed_audit_file_is_reported_not_raised(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    root, run_id = _stopped(tmp_path)
    damage(root / ".opsbooks" / "runs" / f"{run_id}.jsonl")
    result = cli(root, "audit", "verify", run_id)
    assert_clean(result, 1, 2)
    assert run_id in result.stdout + result.stderr
