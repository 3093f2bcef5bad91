"""Issue 13 items 3 and 4 through the real CLI: ``resume --force`` against a live runner
(here, and from another host over a shared PostgreSQL journal), and a resume while a
crashed runner's command still runs in its own session."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from reliability_helpers import cli, make_project, query, spawn

from opsbooks.records.journal import open_journal
from opsbooks.testing.postgres import PostgresServer, PostgresUnavailable, postgres_server

pytestmark = pytest.mark.slow

# `hold` waits for a file the test creates: the runner is alive and in flight meanwhile.
HELD = '''
class Held(ob.Runbook):
    """a, then hold until `go` exists, then b; each step counts its runs in a file."""

    name = "lk.held"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    a = ob.Command("echo a >> a.count")
    hold = ob.Command(
        "echo hold >> hold.count; while [ ! -e go ]; do sleep 0.05; done",
        idempotent=True,
    )
    b = ob.Command("echo b >> b.count")
'''

GATED = '''
class Gated(ob.Runbook):
    """a, a gate, then b."""

    name = "lk.gated"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    a = ob.Command("echo a >> a.count")
    ask = ob.Gate.confirm("Go on?")
    b = ob.Command("echo b >> b.count")
'''


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _count(root: Path, step: str) -> int:
    path = root / f"{step}.count"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _only_run(root: Path) -> str:
    rows = query(root, "SELECT id FROM runs")
    assert len(rows) == 1, rows
    return str(rows[0][0])


def _finish(proc: subprocess.Popen[str], root: Path) -> tuple[int, str]:
    (root / "go").touch()
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out + err


def test_resume_force_never_takes_the_lock_of_a_live_runner(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"lk/held": HELD})
    first = spawn(root, "run", "lk.held")
    try:
        _wait_for(lambda: (root / "hold.count").exists(), "the hold step")
        run_id = _only_run(root)

        forced = cli(root, "resume", run_id, "--force", "--yes")
        text = forced.stdout + forced.stderr
        assert forced.returncode == 2, text
        assert f"pid {first.pid} on {socket.gethostname()}" in forced.stderr
        assert "still alive" in forced.stderr
        assert "Traceback" not in text
        assert len(forced.stderr.strip().splitlines()) == 1, forced.stderr  # one paragraph

        new_run = cli(root, "run", "lk.held", "--force", "--yes")
        assert new_run.returncode == 2, new_run.stdout + new_run.stderr
        assert str(first.pid) in new_run.stderr and "Traceback" not in new_run.stderr
    finally:
        code, output = _finish(first, root)
    assert code == 0, output
    assert "Traceback" not in output
    assert [_count(root, s) for s in ("a", "hold", "b")] == [1, 1, 1]
    assert _only_run(root) == run_id  # the refused --force run never started
    verify = cli(root, "audit", "verify", run_id)
    assert verify.returncode == 0, verify.stdout + verify.stderr


# -- item 4: the runner is SIGKILLed, its command lives on in its own session -------------

ORPHAN = '''
class Orphan(ob.Runbook):
    """a, then a long command in its own session (it outlives a killed runner), then b."""

    name = "lk.orphan"
    scope = "marker files"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    a = ob.Command("echo a >> a.count")
    long = ob.Command(
        "echo long >> long.count; if [ ! -e long.ok ]; then sleep 30; fi", idempotent=True
    )
    b = ob.Command("echo b >> b.count")
'''


def _group_of(root: Path, run_id: str) -> int:
    lines = (root / ".opsbooks" / "procs" / f"{run_id}.procs").read_text().splitlines()
    import json

    started = [json.loads(line)["pgid"] for line in lines if '"started"' in line]
    return int(started[-1])


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_resume_while_the_crashed_runners_command_runs_is_refused(tmp_path: Path) -> None:
    root, _ = make_project(tmp_path / "p", {"lk/orphan": ORPHAN})
    runner = spawn(root, "run", "lk.orphan")
    _wait_for(lambda: (root / "long.count").exists(), "the long step")
    run_id = _only_run(root)
    _wait_for(lambda: "started" in _procs_text(root, run_id), "the process log")
    pgid = _group_of(root, run_id)
    assert pgid != runner.pid
    os.kill(runner.pid, signal.SIGKILL)  # the runner only, not its command's group
    runner.communicate(timeout=30)
    try:
        assert not _group_gone(pgid)
        refused = cli(root, "resume", run_id, "--yes")
        text = refused.stdout + refused.stderr
        assert refused.returncode == 2, text
        assert f"process group {pgid}" in refused.stderr
        assert f"kill -TERM -- -{pgid}" in refused.stderr and "Wait for it" in refused.stderr
        assert "step long" in refused.stderr and "Traceback" not in text
        assert _count(root, "long") == 1 and _count(root, "b") == 0
    finally:
        os.killpg(pgid, signal.SIGKILL)
    _wait_for(lambda: _group_gone(pgid) or _zombie_only(pgid), "the group to end")
    (root / "long.ok").touch()
    resumed = cli(root, "resume", run_id, "--yes")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert [_count(root, s) for s in ("a", "long", "b")] == [1, 2, 1]  # long: once more
    assert cli(root, "audit", "verify", run_id).returncode == 0


def _procs_text(root: Path, run_id: str) -> str:
    path = root / ".opsbooks" / "procs" / f"{run_id}.procs"
    return path.read_text() if path.exists() else ""


def _zombie_only(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return False
    return True


# -- item 3, shared journal: a lock held from another host ---------------------------------


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    try:
        with postgres_server(tmp_path_factory.mktemp("pg")) as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL server for the shared-journal case: {exc}")


def _shared_project(tmp_path: Path, url: str) -> Path:
    root, _ = make_project(tmp_path / "p", {"lk/gated": GATED}, extra_toml=f'journal = "{url}"\n')
    return root


def _stopped_run(root: Path, url: str) -> str:
    stopped = cli(root, "run", "lk.gated")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    journal = open_journal(url)
    try:
        (record,) = journal.runs()
        return record.id
    finally:
        journal.close()


def _hold_from(pg: PostgresServer, db: str, run_id: str, host: str, since: float) -> None:
    """Write the lock row another host's live runner would hold (as that host would)."""
    pg.psql(
        "INSERT INTO locks (runbook, run_id, pid, host, acquired_at) "
        f"VALUES ('lk.gated', '{run_id}', 4242, '{host}', {since})",
        db=db,
    )


def test_force_never_takes_a_lock_held_from_another_host(
    tmp_path: Path, pg: PostgresServer
) -> None:
    db = f"lk{os.getpid()}x{time.monotonic_ns() % 10**6}"
    url = pg.createdb(db)
    root = _shared_project(tmp_path, url)
    run_id = _stopped_run(root, url)
    _hold_from(pg, db, run_id, "build-7.example", time.time())

    for args in (("resume", run_id, "--force", "--yes"), ("run", "lk.gated", "--force")):
        refused = cli(root, *args)
        text = refused.stdout + refused.stderr
        assert refused.returncode == 2, (args, text)
        assert "pid 4242 on build-7.example" in refused.stderr, refused.stderr
        assert "another host" in refused.stderr and "Traceback" not in text
    assert _count(root, "a") == 1 and _count(root, "b") == 0


def test_a_lock_from_a_host_gone_for_good_is_released_only_by_a_person(
    tmp_path: Path, pg: PostgresServer
) -> None:
    """No heartbeat is trusted across hosts (clocks skew, networks split): an old lock
    from another host is still refused, and `abandon --host-gone` is the way out."""
    db = f"lk{os.getpid()}y{time.monotonic_ns() % 10**6}"
    url = pg.createdb(db)
    root = _shared_project(tmp_path, url)
    run_id = _stopped_run(root, url)
    _hold_from(pg, db, run_id, "build-9.example", time.time() - 7 * 86400)

    forced = cli(root, "resume", run_id, "--force", "--yes")
    assert forced.returncode == 2 and "another host" in forced.stderr, forced.stderr
    unsure = cli(root, "abandon", run_id, "--reason", "host decommissioned")
    assert unsure.returncode == 2 and "--host-gone" in unsure.stderr, unsure.stderr

    gone = cli(root, "abandon", run_id, "--reason", "host decommissioned", "--host-gone")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert pg.psql("SELECT count(*) FROM locks", db=db) == "0"
    fresh = cli(root, "run", "lk.gated", "--yes")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert _count(root, "a") == 2 and _count(root, "b") == 1
