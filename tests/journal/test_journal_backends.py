"""One behavioural suite for the journal, run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.identity import LocalIdentity
from opsbooks.errors import JournalError, LockHeld
from opsbooks.plan.state import RunOutcome, StepStatus
from opsbooks.records.journal import GateRecord, HostRecord, Journal, RunRecord, open_journal
from opsbooks.records.journal.locks import LockHolder
from opsbooks.testing.fakes import FakeIdentity
from opsbooks.testing.postgres import PostgresServer


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'journal.db'}"
    return str(request.getfixturevalue("pg_url"))


def _open(url: str) -> Journal:
    """A journal of this process on this host, as the session opens it."""
    return open_journal(url, identity=LocalIdentity())


def _run(run_id: str = "r1", runbook: str = "demo.book", started: float = 1.0) -> RunRecord:
    return RunRecord(
        id=run_id,
        runbook=runbook,
        fingerprint="f",
        params={"a": 1},
        options={},
        who="me",
        host="h",
        pid=1,
        started_at=started,
    )


def test_runs_round_trip(url: str) -> None:
    j = _open(url)
    j.create_run(_run("abc1", started=1.5))
    j.create_run(_run("abd2", started=2.25))
    j.finish_run("abc1", RunOutcome.SUCCEEDED, ended_at=3.5, metrics={"n": 2})
    got = j.get_run("abc")
    assert got.outcome == "succeeded" and got.ended_at == 3.5 and got.metrics == {"n": 2}
    assert got.started_at == 1.5 and got.params == {"a": 1}
    assert j.get_run("last").id == "abd2"
    with pytest.raises(JournalError):
        j.get_run("ab")  # ambiguous prefix
    assert [r.id for r in j.runs("demo.book")] == ["abd2", "abc1"]
    j.close()
    assert _open(url).get_run("abc1").duration == 2.0


def test_transitions_gates_hosts(url: str) -> None:
    j = _open(url)
    j.create_run(_run())
    j.record("r1", "s1", StepStatus.RUNNING, at=1.0, attempt=1)
    j.record("r1", "s1", StepStatus.SUCCEEDED, at=2.0, exit_code=0, detail={"k": "v"})
    with pytest.raises(Exception):  # noqa: B017 - the state machine's own error type
        j.record("r1", "s1", StepStatus.RUNNING, at=3.0)
    assert j.step_states("r1") == {"s1": StepStatus.SUCCEEDED}
    assert [t.status for t in j.transitions("r1")] == [StepStatus.RUNNING, StepStatus.SUCCEEDED]
    assert j.transitions("r1")[1].detail == {"k": "v"}
    j.record_gate(GateRecord("r1", "g", "ask", "Which?", "blue", "me", "answers", 1.0, 2.0))
    j.record_gate(GateRecord("r1", "g", "ask", "Which?", "red", "me", "answers", 3.0, 4.0))
    assert j.answers("r1") == {"g": "red"} and len(j.gates("r1")) == 2
    j.record_host(HostRecord("r1", "s1", "web1", True, 0, 0.5, "ok", "", 1.0))
    j.record_host(HostRecord("r1", "s2", "web2", False, 3, None, "", "boom", 2.0))
    assert [h.ok for h in j.host_results("r1")] == [True, False]
    assert j.host_results("r1", "s2")[0].error == "boom"
    assert j.integrity_check() == "ok"


def test_lock_refused_while_held(url: str) -> None:
    j = _open(url)
    j.acquire_lock("demo.book", "r1", at=1.0)
    holder = j.lock_holder("demo.book")
    assert holder is not None and holder[0] == "r1"
    other = _open(url)
    with pytest.raises(LockHeld):
        other.acquire_lock("demo.book", "r2", at=2.0)
    with pytest.raises(LockHeld):  # the holder (this process) is alive
        other.acquire_lock("demo.book", "r2", at=2.0, force=True)
    j.release_lock("demo.book", "r1")
    assert j.lock_holder("demo.book") is None
    other.acquire_lock("demo.book", "r2", at=3.0)


def test_lock_decided_with_the_journals_identity(url: str) -> None:
    """Crashed, live and remote holders, staged through FakeIdentity (issue 13 item 3)."""
    first = open_journal(url, identity=FakeIdentity("ops1", pid=100))
    first.acquire_lock("demo.book", "r1", at=1.0)
    assert first.lock_holder("demo.book") == LockHolder("r1", 100, "ops1", 1.0)
    live = open_journal(url, identity=FakeIdentity("ops1", pid=200, alive={100}))
    for force in (False, True):
        with pytest.raises(LockHeld, match="already running" if not force else "still alive"):
            live.acquire_lock("demo.book", "r2", at=2.0, force=force)
        with pytest.raises(LockHeld):  # resuming the run its live process still runs
            live.acquire_lock("demo.book", "r1", at=2.0, force=force)
    remote = open_journal(url, identity=FakeIdentity("ops2", pid=100))
    for force in (False, True):
        with pytest.raises(LockHeld, match="another host") as refused:
            remote.acquire_lock("demo.book", "r1", at=3.0, force=force)
        assert refused.value.host == "ops1"
    after_crash = open_journal(url, identity=FakeIdentity("ops1", pid=300))
    with pytest.raises(LockHeld, match="is gone"):
        after_crash.acquire_lock("demo.book", "r2", at=4.0)
    assert after_crash.lock_holder("demo.book") == LockHolder("r1", 100, "ops1", 1.0)
    after_crash.acquire_lock("demo.book", "r2", at=5.0, force=True)
    assert after_crash.lock_holder("demo.book") == LockHolder("r2", 300, "ops1", 5.0)
    resumed = open_journal(url, identity=FakeIdentity("ops1", pid=400))
    resumed.acquire_lock("demo.book", "r2", at=6.0)  # r2's process is gone: resume takes it
    assert resumed.lock_holder("demo.book") == LockHolder("r2", 400, "ops1", 6.0)
    for j in (first, live, remote, after_crash, resumed):
        j.close()


def test_journal_without_identity_reads_but_takes_no_lock(url: str) -> None:
    j = open_journal(url)
    j.create_run(_run())
    assert j.get_run("r1").id == "r1" and j.lock_holder("demo.book") is None
    with pytest.raises(JournalError, match="without a host identity"):
        j.acquire_lock("demo.book", "r1", at=1.0)
    j.close()


def _race(url: str, run_id: str, barrier: object, out: object) -> None:
    j = _open(url)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        j.acquire_lock("demo.book", run_id, at=1.0)
        out.put(("won", run_id))  # type: ignore[attr-defined]
    except LockHeld:
        out.put(("lost", run_id))  # type: ignore[attr-defined]


def test_two_processes_race_for_the_lock(url: str) -> None:
    _open(url).close()
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(url, f"r{i}", barrier, out)) for i in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(r[0] for r in results).count("won") == 1


def _poke(url: str, sql: str, pg: PostgresServer | None) -> None:
    if url.startswith("sqlite"):
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"))
        con.executescript(sql)
        con.close()
    else:
        assert pg is not None
        pg.psql(sql, db=url.rsplit("/", 1)[1])


def test_newer_schema_refused(url: str, request: pytest.FixtureRequest) -> None:
    _open(url).close()
    pg = request.getfixturevalue("pg") if url.startswith("postgres") else None
    _poke(url, "UPDATE meta SET value='99' WHERE key='schema_version';", pg)
    with pytest.raises(JournalError, match="newer"):
        _open(url)


def test_foreign_database_refused(url: str, request: pytest.FixtureRequest) -> None:
    pg = request.getfixturevalue("pg") if url.startswith("postgres") else None
    _poke(url, "CREATE TABLE customers (id INTEGER);", pg)
    with pytest.raises(JournalError, match="not an opsbooks journal"):
        _open(url)


@pytest.mark.slow
def test_connection_errors_are_clear(pg: PostgresServer) -> None:
    with pytest.raises(JournalError) as info:
        open_journal(f"postgresql://postgres:s3cret@127.0.0.1:{pg.port}/no_such_db")
    message = str(info.value)
    assert "no_such_db" in message and "s3cret" not in message and "***" in message
    with pytest.raises(JournalError, match=r"127\.0\.0\.1"):
        open_journal("postgresql://postgres@127.0.0.1:1/x")


def test_unsupported_url() -> None:
    with pytest.raises(JournalError, match="postgresql://"):
        open_journal("mysql://x@y/z")


CANARY = "canary-5be1-PGSECRET"


def _flaky_runbook(flag: Path) -> type:
    class Flaky(ob.Runbook):
        """Fail until a flag file exists, then succeed on resume."""

        name = "pgjournal.flaky"
        scope = "Nothing real."
        owner = "Journal"
        last_reviewed = "2026-11-01"

        class Params(ob.Params):
            token: ob.SecretStr
            label: str = "x"

        first = ob.Command(["echo", "first {label}"])
        needs_flag = ob.Command(["test", "-e", str(flag)])
        last = ob.Command(["echo", "done"])

    return Flaky


@pytest.mark.slow
def test_drill_fails_and_resumes_on_postgres(
    pg: PostgresServer, pg_url: str, tmp_path: Path
) -> None:
    from opsbooks.testing import Drill

    url = pg_url
    name = url.rsplit("/", 1)[1]
    flag = tmp_path / "flag"
    runbook = _flaky_runbook(flag)
    root = tmp_path / "drill"
    root.mkdir()
    drill = Drill(
        root=root,
        runbooks=(runbook,),
        settings={"journal": url},
        environ={"OPSBOOKS_SECRET_TOKEN": CANARY},
    )
    failed = drill.run(runbook, {"token": CANARY}, no_rollback=True)
    assert failed.outcome == "failed"
    flag.touch()
    done = drill.resume(failed.run_id)
    assert done.outcome == "succeeded"
    steps = [t.step_id for t in done.transitions if t.status == StepStatus.SUCCEEDED]
    assert steps.count("first") == 1 and "last" in steps
    dump = "\n".join(
        pg.psql(f"SELECT * FROM {table}", db=name)
        for table in ("meta", "runs", "transitions", "gates", "host_results", "locks")
    )
    assert failed.run_id in dump and CANARY not in dump


def test_hosts_that_finished_together_are_one_transaction(url: str) -> None:
    """``record_hosts`` writes every row in order, or none: a failing row rolls back all."""
    j = _open(url)
    j.create_run(_run())
    j.record_host(HostRecord("r1", "s1", "web0", True, 0, 0.1, "", "", 1.0))
    batch = [HostRecord("r1", "s1", f"web{n}", n != 2, 0, 0.5, "", "", 2.0) for n in (1, 2, 3)]
    j.record_hosts(batch)
    assert [(h.host, h.ok) for h in j.host_results("r1", "s1")] == [
        ("web0", True),
        ("web1", True),
        ("web2", False),
        ("web3", True),
    ]
    broken = [HostRecord("r1", "s1", "web4", True, 0, 0.5, "", "", 3.0), batch[0]]
    broken.append(HostRecord("r1", "s1", None, True, 0, 0.5, "", "", 3.0))  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - the driver's NOT NULL error, as a JournalError or not
        j.record_hosts(broken)
    assert len(j.host_results("r1", "s1")) == 4  # web4 rolled back with the bad row
    j.close()
