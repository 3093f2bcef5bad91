"""troubleshoot.database on a real PostgreSQL and real SQLite files: one test per leaf.

Each test makes its leaf's condition true for real (held connections, a lock held by
another session with a waiter, a ``pg_sleep`` running, a port with no server, bytes
overwritten in a SQLite file), runs the tree through the engine and checks which
diagnosis it ended at and what it found.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ts_sys_kit import (
    MAX_CONNECTIONS,
    Standby,
    background_query,
    free_port,
    session,
    standby_of,
    wait_for,
)

from opsbooks.testing import Drill, DrillResult
from opsbooks.testing.postgres import PostgresServer

pytestmark = pytest.mark.slow
NAME = "troubleshoot.database"


def params(pg: PostgresServer, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": pg.port, "dbname": "postgres", "user": "postgres"} | extra


def ended_at(result: DrillResult, leaf: str) -> None:
    """The run succeeded at diagnosis ``leaf``, with every other leaf skipped."""
    result.assert_succeeded()
    fact = result.fact("diagnosis")
    assert fact is not None and fact.value == leaf, result.output
    result.assert_succeeded_step(leaf)


def output(result: DrillResult, name: str) -> str:
    for record in result.transitions:
        values = (record.detail or {}).get("outputs") or {}
        if name in values:
            return str(values[name])
    raise AssertionError(f"no output {name}")


def test_healthy_server(drill: Drill, ts_pg: PostgresServer) -> None:
    result = drill.run(NAME, params(ts_pg))
    ended_at(result, "healthy")
    assert output(result, "standbys") == "0"  # no standby is a normal branch
    for step in ("survey", "route_locks", "route_long", "route_replication"):
        result.assert_succeeded_step(step)
    result.assert_skipped("saturated")


def test_no_server_listening_is_server_down(drill: Drill) -> None:
    port = free_port()  # nothing listens there: pg_isready gets no response (exit 2)
    result = drill.run(NAME, {"port": port, "connect_timeout": 2})
    ended_at(result, "server_down")
    assert output(result, "ready_code") == "2"
    result.assert_skipped("survey")
    assert f"ss -ltnp | grep {port}" in result.output


def test_malformed_connection_string_is_bad_params(drill: Drill, ts_pg: PostgresServer) -> None:
    result = drill.run(NAME, params(ts_pg, dbname="sslmode=bogus"))  # -d takes a conninfo
    ended_at(result, "bad_connection_params")
    assert output(result, "ready_code") == "3"


@pytest.fixture
def held(ts_pg: PostgresServer) -> Iterator[list[psycopg.Connection[Any]]]:
    conns: list[psycopg.Connection[Any]] = []
    yield conns
    for conn in conns:
        conn.close()


def test_held_connections_saturate(
    drill: Drill, ts_pg: PostgresServer, held: list[psycopg.Connection[Any]]
) -> None:
    base = int(
        ts_pg.psql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    )
    held.extend(session(ts_pg) for _ in range(15 - base))  # + the check's own: 16 of 20
    result = drill.run(NAME, params(ts_pg, max_connections_pct=75))
    ended_at(result, "saturated")
    assert output(result, "connections") == "16"
    assert output(result, "max_connections") == str(MAX_CONNECTIONS)
    assert output(result, "connections_pct") == "80.0"


def test_every_slot_taken_is_saturated_too(
    drill: Drill, ts_pg: PostgresServer, held: list[psycopg.Connection[Any]]
) -> None:
    while True:  # superuser sessions may take every slot, the reserved ones included
        try:
            held.append(session(ts_pg))
        except psycopg.OperationalError:
            break
    result = drill.run(NAME, params(ts_pg))
    ended_at(result, "saturated")
    assert output(result, "connect") == "too_many_clients"


def test_unknown_role_is_login_refused(drill: Drill, ts_pg: PostgresServer) -> None:
    result = drill.run(NAME, params(ts_pg, user="no_such_role"))
    ended_at(result, "login_refused")
    assert output(result, "connect") == "auth_failed"
    assert 'role "no_such_role" does not exist' in output(result, "connect_error")


@pytest.fixture
def lock_conflict(ts_pg: PostgresServer) -> Iterator[tuple[int, int]]:
    """Session A holds ACCESS EXCLUSIVE on orders in an open transaction; B waits for it."""
    holder = session(ts_pg)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    with background_query(ts_pg, "SELECT count(*) FROM orders") as waiter:
        wait_for(
            lambda: (
                ts_pg.psql(f"SELECT wait_event_type FROM pg_stat_activity WHERE pid = {waiter}")
                == "Lock"
            )
        )
        yield holder.info.backend_pid, waiter
        holder.close()


def test_lock_wait_names_the_blocker(
    drill: Drill, ts_pg: PostgresServer, lock_conflict: tuple[int, int]
) -> None:
    blocker, waiter = lock_conflict
    result = drill.run(NAME, params(ts_pg), answers={"offer_terminate": False})
    ended_at(result, "lock_contention")
    assert output(result, "blocking_pid") == str(blocker)
    assert output(result, "waiting_pid") == str(waiter)
    assert output(result, "locked_relation") == "orders"
    result.assert_skipped("terminate_blocker")
    # shown, not run: the blocker still holds its lock
    assert f"pg_terminate_backend({blocker})" in result.output
    assert ts_pg.psql(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {blocker}") == "1"


def test_confirmed_terminate_ends_the_blocker(
    drill: Drill, ts_pg: PostgresServer, lock_conflict: tuple[int, int]
) -> None:
    blocker, waiter = lock_conflict
    result = drill.run(NAME, params(ts_pg), answers={"offer_terminate": True})
    ended_at(result, "lock_contention")
    result.assert_succeeded_step("terminate_blocker")
    assert result.gates[0].approver == "drill"
    assert ts_pg.psql(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {blocker}") == "0"
    wait_for(
        lambda: (
            ts_pg.psql(
                f"SELECT coalesce(wait_event_type, '') FROM pg_stat_activity WHERE pid = {waiter}"
            )
            != "Lock"
        )
    )


def test_sleeping_query_is_long_running(drill: Drill, ts_pg: PostgresServer) -> None:
    with background_query(ts_pg, "SELECT pg_sleep(60)") as sleeper:
        wait_for(
            lambda: (
                ts_pg.psql(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = "
                    f"{sleeper} AND now() - query_start > interval '0.6 seconds'"
                )
                == "1"
            )
        )
        result = drill.run(NAME, params(ts_pg, long_query_seconds=0.5))
    ended_at(result, "long_running")
    assert output(result, "longest_pid") == str(sleeper)
    assert "pg_sleep(60)" in output(result, "longest_query")
    assert f"pg_cancel_backend({sleeper})" in result.output


def _sqlite(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT)")
        conn.execute("CREATE INDEX events_payload ON events (payload)")
        conn.executemany(
            "INSERT INTO events (payload) VALUES (?)",
            [(f"event {i:05d} " * 8,) for i in range(2000)],
        )
    conn.close()
    return path


def test_intact_sqlite_file(drill: Drill, tmp_path: Path) -> None:
    db = _sqlite(tmp_path / "app.db")
    result = drill.run(NAME, {"sqlite_path": str(db)})
    ended_at(result, "sqlite_healthy")
    result.assert_skipped("reachable")


def test_overwritten_pages_are_corrupt(drill: Drill, tmp_path: Path) -> None:
    db = _sqlite(tmp_path / "app.db")
    with db.open("r+b") as handle:  # garbage over the middle of the table and index b-trees
        size = handle.seek(0, 2)
        handle.seek(size // 2)
        handle.write(b"\xde\xad\xbe\xef" * 2048)
    result = drill.run(NAME, {"sqlite_path": str(db)})
    ended_at(result, "sqlite_corrupt")
    assert output(result, "integrity") == "corrupt"
    fact = result.fact("escalated")
    assert fact is not None and fact.value == "L2"


def test_missing_sqlite_file(drill: Drill, tmp_path: Path) -> None:
    result = drill.run(NAME, {"sqlite_path": str(tmp_path / "nope.db")})
    ended_at(result, "sqlite_missing")


@pytest.fixture(scope="module")
def standby(ts_pg: PostgresServer) -> Iterator[Standby]:
    """One base backup of the test server, started and stopped by the tests that need it."""
    with standby_of(ts_pg) as made:
        yield made


def test_paused_standby_lags(drill: Drill, ts_pg: PostgresServer, standby: Standby) -> None:
    replica = standby.start(hot=True)
    try:
        wait_for(
            lambda: (
                ts_pg.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                == "1"
            )
        )
        replica.psql("SELECT pg_wal_replay_pause()")
        ts_pg.psql(
            "CREATE TABLE lag_filler AS "
            "SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g"
        )
        ts_pg.psql("DROP TABLE lag_filler")
        result = drill.run(NAME, params(ts_pg, max_lag_bytes=100_000))
    finally:
        standby.stop()
    ended_at(result, "replication_lag")
    assert output(result, "standbys") == "1"
    assert int(output(result, "lag_bytes")) > 100_000
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"


def test_cold_standby_rejects_then_stopped_server_is_down(drill: Drill, standby: Standby) -> None:
    replica = standby.start(hot=False)  # up, replaying WAL, refusing every connection
    try:
        rejecting = drill.run(NAME, {"port": replica.port, "connect_timeout": 2})
    finally:
        standby.stop()
    ended_at(rejecting, "server_rejecting")
    assert output(rejecting, "ready_code") == "1"
    stopped = drill.run(NAME, {"port": replica.port, "connect_timeout": 2})  # pg_ctl stop ran
    ended_at(stopped, "server_down")
