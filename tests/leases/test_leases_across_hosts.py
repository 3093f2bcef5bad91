"""A run crashed on machine A is resumed on machine B once its lease expires.

Two "machines" are two projects (their own state dirs) with their own host identity
(``OPSBOOKS_HOST_ID``) sharing one journal: an SQLite file, or a real PostgreSQL
server on loopback. A real ``opsbooks run`` on A holds the lock inside a long command;
B is refused while A lives (for longer than the lease: A keeps renewing it), A is
killed with SIGKILL, B is still refused while the lease is fresh, then B's
``opsbooks resume`` takes the run over once it expired and the run completes.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_kit import PYTHON, clean_env, cli, write_project

from opsbooks.edges.identity import LocalIdentity
from opsbooks.errors import LockHeld
from opsbooks.records.journal import LeaseView, open_journal
from opsbooks.testing.postgres import PostgresServer, postgres_server

pytestmark = pytest.mark.slow

LEASE = 1.5  # seconds: a beat every 0.5 s; gone once the last beat is 2.25 s old
RUNBOOK = "team.handover"

BOOK = '''
class Handover(ob.Runbook):
    """Hand a long job from one machine to another."""

    scope, owner, last_reviewed = "The lease tests.", "SRE", "2026-12-02"

    class Params(ob.Params):
        shared: str

    prepare = ob.Command("echo prepare >> {shared}/ledger")
    # holds the lock until the test creates `go`, or ends with the runner that started it
    wait = ob.Command(
        "while [ ! -f {shared}/go ] && kill -0 $PPID 2>/dev/null; do sleep 0.05; done; "
        "test -f {shared}/go",
        idempotent=True,
    )
    finish = ob.Command("echo finish >> {shared}/ledger")
'''


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'journal.db'}"
    server: PostgresServer = request.getfixturevalue("pg")
    return server.createdb(f"leases_{tmp_path.name[-12:].lower().replace('-', '_')}")


def _machines(tmp_path: Path, url: str) -> tuple[Path, Path, Path]:
    shared = tmp_path / "shared"
    shared.mkdir(exist_ok=True)
    config = {"journal": url, "journal_lease": f"{LEASE}s"}
    a, b = (
        write_project(tmp_path / m, {"team/handover": BOOK}, package="leasebooks", config=config)
        for m in ("a", "b")
    )
    return shared, a, b


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _lease(url: str) -> LeaseView | None:
    journal = open_journal(url)
    try:
        return journal.lock_lease(RUNBOOK)
    finally:
        journal.close()


def _take_from_b(url: str, run_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine B's lock request, through the library: LockHeld while A's lease is fresh."""
    monkeypatch.setenv("OPSBOOKS_HOST_ID", "machine-b")
    journal = open_journal(url, identity=LocalIdentity(), lease=LEASE)
    try:
        journal.acquire_lock(RUNBOOK, run_id, at=time.time())
    finally:
        journal.close()


def test_a_killed_holder_is_resumed_on_another_machine_after_its_lease_expires(
    tmp_path: Path, journal_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared, a, b = _machines(tmp_path, journal_url)
    holder = subprocess.Popen(
        [PYTHON, "-m", "opsbooks", "run", RUNBOOK, "--shared", str(shared)],
        cwd=a,
        env=clean_env(OPSBOOKS_HOST_ID="machine-a"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: holder.poll() is not None or (shared / "ledger").exists(), "A")
        assert holder.poll() is None, holder.communicate()[0]
        lease = _lease(journal_url)
        assert lease is not None and lease.host == "machine-a"
        run_id = lease.run_id

        # A lives: B is refused, and still refused after more than the lease has passed
        refused = cli(b, "resume", run_id, OPSBOOKS_HOST_ID="machine-b")
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "lease was renewed" in refused.stderr and "from machine-a" in refused.stderr
        time.sleep(LEASE * 1.5 + 0.3)
        again = cli(b, "resume", run_id, "--force", OPSBOOKS_HOST_ID="machine-b")
        assert again.returncode == 2 and "lease was renewed" in again.stderr
        listed = cli(b, "history")
        shown = r"running \(lease renewed \d+s ago from machine-a, expires in \d+s\)"
        assert re.search(shown, listed.stdout), listed.stdout
        renewed = _lease(journal_url)
        assert renewed is not None and renewed.age < LEASE and not renewed.expired
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()

    # A is dead, but its lease is fresh for a moment: B still cannot know, and waits
    with pytest.raises(LockHeld, match=r"lease was renewed \S+ ago from machine-a"):
        _take_from_b(journal_url, run_id, monkeypatch)
    _wait_for(lambda: (_lease(journal_url) or lease).expired, "the lease to expire", 10)

    # the operator carries A's audit trail over (a shared or synced state dir does it)
    runs = b / ".opsbooks" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    shutil.copy(a / ".opsbooks" / "runs" / f"{run_id}.jsonl", runs)
    (shared / "go").touch()
    resumed = cli(b, "resume", run_id, OPSBOOKS_HOST_ID="machine-b")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "wait was in flight at a crash" in resumed.stdout
    assert (shared / "ledger").read_text().splitlines() == ["prepare", "finish"]

    journal = open_journal(journal_url)
    try:
        record = journal.get_run(run_id)
        assert (record.outcome, record.host) == ("succeeded", "machine-b")
        assert journal.lock_holder(RUNBOOK) is None and journal.lock_lease(RUNBOOK) is None
    finally:
        journal.close()
    verified = cli(b, "audit", "verify", run_id)
    assert verified.returncode == 0, verified.stdout + verified.stderr
