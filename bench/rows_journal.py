"""Row 7: journal transitions per second, SQLite WAL (``synchronous=FULL`` as shipped,
and ``NORMAL``) and PostgreSQL, each against a bare insert-and-commit on the same store.

Every ``Journal.record`` is its own committed transaction (checked against the state
table first); the baseline is the least a durable journal must do: one ``INSERT`` and
one ``COMMIT`` with the same durability settings. What each setting survives:

- SQLite WAL ``FULL``: the WAL is fsynced at every commit; a transition survives a
  crash of the process and a power loss.
- SQLite WAL ``NORMAL``: no fsync at commit; survives a crash of the process, but the
  last transactions can be lost on power loss (the runner's invariant 1 would not hold).
- PostgreSQL (``fsync=on``, ``synchronous_commit=on``): the WAL is flushed before the
  commit returns; survives a crash of either process and a power loss of the server.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.measure import Row, compare, interleave, run_inline, skipped
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal import RunRecord, open_journal


def _journal_writes(journal: Any, count: int, tag: str) -> Callable[[], object]:
    run_id = f"bench-{tag}-{time.monotonic_ns()}"
    journal.create_run(
        RunRecord(run_id, "bench.journal", "f", {}, {}, "bench", "localhost", 1, time.time())
    )

    def writes() -> None:
        for index in range(count // 2):
            step = f"s{index:05d}"
            journal.record(run_id, step, StepStatus.RUNNING, at=time.time())
            journal.record(run_id, step, StepStatus.SUCCEEDED, at=time.time(), exit_code=0)

    return writes


def _sqlite_pair(folder: Path, sync: str, count: int, reps: int) -> dict[str, list[float]]:
    journal = open_journal(str(folder / f"journal-{sync}.db"))
    journal._db.db.execute(f"PRAGMA synchronous={sync}")  # type: ignore[attr-defined]  # bench only
    bare = sqlite3.connect(folder / f"bare-{sync}.db", isolation_level=None)
    bare.execute("PRAGMA journal_mode=WAL")
    bare.execute(f"PRAGMA synchronous={sync}")
    bare.execute(
        "CREATE TABLE t (seq INTEGER PRIMARY KEY, run TEXT, step TEXT, status TEXT, at REAL)"
    )

    def bare_writes() -> None:
        for index in range(count):
            bare.execute("BEGIN IMMEDIATE")
            bare.execute(
                "INSERT INTO t (run, step, status, at) VALUES (?, ?, ?, ?)",
                ("r", str(index), "ok", time.time()),
            )
            bare.execute("COMMIT")

    rounds = 0

    def ours() -> Any:
        nonlocal rounds
        rounds += 1
        return run_inline(_journal_writes(journal, count, f"{sync}{rounds}"))

    samples = interleave({"ours": ours, "bare": lambda: run_inline(bare_writes)}, reps)
    journal.close()
    bare.close()
    return {name: [s.wall / count * 1000 for s in got] for name, got in samples.items()}


def _row(case: str, figures: dict[str, list[float]], baseline: str, note: str) -> Row:
    row = compare(
        7,
        "journal",
        case,
        ours="Journal.record (ms/transition)",
        baseline=baseline,
        ours_values=figures["ours"],
        baseline_values=figures["bare"],
        unit="ms",
        target="informational: what durability costs",
    )
    per_second = 1000 / row.ours_value if row.ours_value else 0
    row.note = f"{per_second:.0f} transitions/s; {note}"
    return row


def journal_rows(work: Path, *, count: int, reps: int, postgres: bool) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory(dir=work) as folder:
        for sync, note in (
            ("FULL", "survives power loss (as shipped)"),
            ("NORMAL", "survives a process crash, not power loss"),
        ):
            figures = _sqlite_pair(Path(folder), sync, count, reps)
            rows.append(_row(f"SQLite WAL {sync}", figures, f"bare INSERT+COMMIT, {sync}", note))
    rows.append(
        _postgres_row(work, count=count, reps=reps)
        if postgres
        else skipped(
            7,
            "journal",
            "PostgreSQL",
            ours="Journal.record",
            baseline="bare INSERT+COMMIT",
            reason="left out of --quick (a server start takes seconds)",
        )
    )
    return rows


def _postgres_row(work: Path, *, count: int, reps: int) -> Row:
    from opsbooks.testing import postgres as pg

    try:
        with pg.postgres_server(work / "pg") as server:
            _durable_restart(server)
            return _postgres_measure(server, count, reps)
    except (pg.PostgresUnavailable, FileNotFoundError, OSError) as exc:
        return skipped(
            7,
            "journal",
            "PostgreSQL",
            ours="Journal.record",
            baseline="bare INSERT+COMMIT",
            reason=f"no PostgreSQL server here: {str(exc).splitlines()[0]}",
        )


def _durable_restart(server: Any) -> None:
    """The test fixture runs with fsync off; restart it durable, as production runs."""
    from opsbooks.testing import postgres as pg

    options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {server.socket_dir}"
    pg._run(  # the fixture's own runner: as the unprivileged user under root
        [
            str(server.bin_dir / "pg_ctl"),
            "-D",
            str(server.data_dir),
            "-l",  # without a log file the server keeps our pipes open: no EOF, a hang
            str(server.data_dir / "server.log"),
            "-o",
            options,
            "-w",
            "-m",
            "fast",
            "restart",
        ],
        pg._unprivileged_user(),
        server.data_dir.parent,
    )
    got = server.psql("SHOW fsync").strip()
    if "on" not in got:
        raise pg.PostgresUnavailable(f"PostgreSQL restarted with fsync={got}")


def _postgres_measure(server: Any, count: int, reps: int) -> Row:
    import psycopg

    server.createdb("bench")
    url = server.url_for("bench")
    journal = open_journal(url)
    bare = psycopg.connect(url, autocommit=True)
    bare.execute(
        "CREATE TABLE t (seq SERIAL PRIMARY KEY, run TEXT, step TEXT, status TEXT,"
        " at DOUBLE PRECISION)"
    )

    def bare_writes() -> None:
        for index in range(count):
            with bare.transaction():
                bare.execute(
                    "INSERT INTO t (run, step, status, at) VALUES (%s, %s, %s, %s)",
                    ("r", str(index), "ok", time.time()),
                )

    rounds = 0

    def ours() -> Any:
        nonlocal rounds
        rounds += 1
        return run_inline(_journal_writes(journal, count, f"pg{rounds}"))

    samples = interleave({"ours": ours, "bare": lambda: run_inline(bare_writes)}, reps)
    journal.close()
    bare.close()
    figures = {name: [s.wall / count * 1000 for s in got] for name, got in samples.items()}
    return _row(
        "PostgreSQL (fsync=on)",
        figures,
        "bare INSERT+COMMIT, psycopg",
        "survives power loss of the server",
    )
