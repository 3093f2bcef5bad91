"""PostgreSQL checks: connection saturation, lock waits, long-running queries, replication lag.

``survey`` runs every check in one session, a consistent snapshot (connecting first:
a server with no slot left says so as ``connect=too_many_clients``); ``terminate``
ends one backend with ``pg_terminate_backend``. Connection settings come from the
flags (host, port, database, user); a password, if the role needs one, from libpq's
own ``PGPASSWORD`` or ``~/.pgpass``, never argv. Each check prints the SQL it ran,
the rows it found, and ``::output`` lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import psycopg

from opsbooks.actions import Arg, Result
from opsbooks_playbooks.actions import ActionError, program

_CONNECTIONS_SQL = (
    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'",
    "SHOW max_connections",
    "SHOW superuser_reserved_connections",
)
LOCKS_SQL = """\
SELECT a.pid, pg_blocking_pids(a.pid) AS blocked_by, l.locktype, l.mode,
       coalesce(l.relation::regclass::text, '') AS relation,
       extract(epoch FROM now() - a.query_start)::int AS waiting_s,
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 120) AS query
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE NOT l.granted AND a.wait_event_type = 'Lock'
 ORDER BY a.query_start"""
LONG_SQL = """\
SELECT pid, usename, extract(epoch FROM now() - query_start)::int AS running_s,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
  FROM pg_stat_activity
 WHERE state = 'active' AND pid <> pg_backend_pid()
   AND now() - query_start > make_interval(secs => %s)
 ORDER BY query_start"""
REPLICATION_SQL = """\
SELECT application_name, coalesce(client_addr::text, 'local') AS client, state,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint AS lag_bytes,
       coalesce(extract(epoch FROM replay_lag), 0)::float AS lag_s
  FROM pg_stat_replication ORDER BY lag_bytes DESC"""

Host = Annotated[str, Arg(help="server host name or address")]
Port = Annotated[int, Arg(help="server port")]
Db = Annotated[str, Arg(help="database to connect to")]
User = Annotated[str, Arg(help="role to connect as")]


def _open(host: str, port: int, dbname: str, user: str, timeout: int) -> psycopg.Connection[Any]:
    """Connect as libpq tools do: a database name with ``=`` is a connection string."""
    conninfo = dbname if "=" in dbname else psycopg.conninfo.make_conninfo(dbname=dbname)
    return psycopg.connect(
        conninfo,
        host=host,
        port=port,
        user=user,
        connect_timeout=max(1, timeout),
        autocommit=True,
        application_name="opsbooks-diagnose",
    )


def _connect(host: str, port: int, dbname: str, user: str, timeout: int) -> psycopg.Connection[Any]:
    try:
        return _open(host, port, dbname, user, timeout)
    except psycopg.OperationalError as exc:
        raise ActionError(
            f"cannot connect to {user}@{host}:{port}/{dbname}: {_first(exc)}"
        ) from None


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[-1].strip() if lines else type(exc).__name__


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "-"


def _connect_status(exc: psycopg.OperationalError) -> str:
    state = getattr(exc, "sqlstate", None) or ""
    text = str(exc)
    if state == "53300" or "too many clients" in text or "remaining connection slots" in text:
        return "too_many_clients"
    if state.startswith("28") or "authentication failed" in text or "does not exist" in text:
        return "auth_failed"
    return "error"


Rows = list[tuple[Any, ...]]
Found = tuple[list[str], dict[str, object]]


def _connection_figures(conn: psycopg.Connection[Any], max_pct: float) -> Found:
    used = int(conn.execute(_CONNECTIONS_SQL[0]).fetchone()[0])  # type: ignore[index]
    limit = int(conn.execute(_CONNECTIONS_SQL[1]).fetchone()[0])  # type: ignore[index]
    reserved = int(conn.execute(_CONNECTIONS_SQL[2]).fetchone()[0])  # type: ignore[index]
    pct = round(100.0 * used / limit, 1)
    state = "saturated" if pct >= max_pct else "ok"
    lines = [
        f"{_CONNECTIONS_SQL[0]};",
        f"{used} client connections of max_connections={limit} ({pct}%, {reserved} "
        f"reserved for superusers): {state} (threshold {max_pct}%)",
    ]
    outputs: dict[str, object] = {"connect": "ok", "connections": used}
    outputs |= {"max_connections": limit, "connections_pct": pct, "connect_error": "-"}
    return lines, outputs


def _lock_waits(rows: Rows) -> Found:
    lines = [LOCKS_SQL + ";"]
    for pid, blockers, locktype, mode, relation, waited, query in rows:
        lines.append(
            f"pid {pid} waits {waited}s for {mode} on {locktype} {relation or '-'}, "
            f"blocked by {list(blockers)}: {query}"
        )
    if not rows:
        lines.append("no session is waiting on a lock")
        none = {"lock_waits": 0, "waiting_pid": "-", "blocking_pid": "-"}
        return lines, none | {"locked_relation": "-", "terminate_sql": "-", "blocker_sql": "-"}
    pid, blockers, _, _, relation, _, _ = rows[0]
    blocker = str(blockers[0]) if blockers else "-"
    outputs: dict[str, object] = {"lock_waits": len(rows), "waiting_pid": pid}
    outputs |= {"blocking_pid": blocker, "locked_relation": _one_line(relation)}
    outputs["terminate_sql"] = f"SELECT pg_terminate_backend({blocker})"
    outputs["blocker_sql"] = (
        "SELECT pid, usename, application_name, client_addr, state, xact_start, query "
        f"FROM pg_stat_activity WHERE pid = {blocker}"
    )
    return lines, outputs


def _long_running(rows: Rows, seconds: float) -> Found:
    lines = [LONG_SQL.replace("%s", str(seconds)) + ";"]
    lines += [f"pid {pid} ({who}) running {age}s: {query}" for pid, who, age, query in rows]
    if not rows:
        lines.append(f"no query has been active longer than {seconds}s")
        none = {"long_queries": 0, "longest_pid": "-", "longest_seconds": 0}
        return lines, none | {"longest_query": "-", "cancel_sql": "-"}
    pid, _, age, query = rows[0]
    outputs: dict[str, object] = {"long_queries": len(rows), "longest_pid": pid}
    outputs |= {"longest_seconds": age, "longest_query": _one_line(query)}
    outputs["cancel_sql"] = f"SELECT pg_cancel_backend({pid})"
    return lines, outputs


def _replication(rows: Rows, in_recovery: bool) -> Found:
    lines = [REPLICATION_SQL + ";"]
    lines += [
        f"standby {name} ({client}) {state}: {lag_b} bytes, {lag_s:.1f}s behind"
        for name, client, state, lag_b, lag_s in rows
    ]
    if in_recovery:
        lines.append("this server is itself a standby: check its primary instead")
    elif not rows:
        lines.append("no standby is attached: nothing to lag (normal for a single server)")
    worst = rows[0] if rows else ("-", "-", "-", 0, 0.0)
    outputs: dict[str, object] = {"standbys": len(rows), "in_recovery": str(in_recovery).lower()}
    outputs |= {"worst_standby": _one_line(worst[0]), "lag_bytes": int(worst[3])}
    outputs["lag_seconds"] = round(float(worst[4]), 1)
    return lines, outputs


def _unreached(status: str, error: str) -> dict[str, object]:
    """The outputs of a survey that could not connect: nothing measured past that."""
    outputs: dict[str, object] = {"connect": status, "connections": -1, "max_connections": -1}
    outputs["connections_pct"] = 100 if status == "too_many_clients" else -1
    outputs["connect_error"] = _one_line(error)
    outputs |= _lock_waits([])[1] | _long_running([], 0)[1] | _replication([], False)[1]
    return outputs


def survey(
    host: Host,
    port: Port,
    dbname: Db,
    user: User,
    max_pct: Annotated[
        float, Arg(help="saturated at or above this percentage of max_connections")
    ] = 80.0,
    seconds: Annotated[float, Arg(help="a query active longer than this is long-running")] = 300,
    timeout: int = 5,
) -> Result:
    """One session, every check: connections, lock waits, long queries, replication lag."""
    try:
        conn = _open(host, port, dbname, user, timeout)
    except psycopg.OperationalError as exc:
        status = _connect_status(exc)
        return Result(
            f"connecting as {user} failed: {_first(exc)}", _unreached(status, _first(exc))
        )
    with conn:
        found = [_connection_figures(conn, max_pct)]
        found.append(_lock_waits(conn.execute(LOCKS_SQL).fetchall()))
        found.append(_long_running(conn.execute(LONG_SQL, (seconds,)).fetchall(), seconds))
        recovery = bool(conn.execute("SELECT pg_is_in_recovery()").fetchone()[0])  # type: ignore[index]
        rows = [] if recovery else conn.execute(REPLICATION_SQL).fetchall()
        found.append(_replication(rows, recovery))
    lines = [line for part, _ in found for line in part]
    outputs = {name: value for _, part in found for name, value in part.items()}
    return Result("\n".join(lines), outputs)


def terminate(
    host: Host,
    port: Port,
    dbname: Db,
    user: User,
    pid: Annotated[int, Arg(help="the backend to terminate")],
    timeout: int = 5,
) -> str:
    """Terminate backend ``pid`` (``pg_terminate_backend``); its transaction rolls back."""
    if pid <= 0:
        raise ActionError(f"{pid} is not a backend pid")
    with _connect(host, port, dbname, user, timeout) as conn:
        row = conn.execute(
            "SELECT usename, application_name, state FROM pg_stat_activity WHERE pid = %s",
            (pid,),
        ).fetchone()
        if row is None:
            return f"backend {pid} is gone already: nothing to terminate"
        done = conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
    if not done or not done[0]:
        raise ActionError(f"pg_terminate_backend({pid}) did not end the backend within 5s")
    who, app, state = row
    return f"SELECT pg_terminate_backend({pid}); ended backend {pid} ({who}, {app or '-'}, {state})"


PROGRAM = program("diagnose.pg", __doc__)
for _command in (survey, terminate):
    PROGRAM.command(_command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.diagnose.pg``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
