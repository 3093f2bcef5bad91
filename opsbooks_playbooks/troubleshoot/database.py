"""Find why the database is slow or failing: reachability, connections, locks, queries, lag."""

from __future__ import annotations

import opsbooks as ob

_PSQL = "psql -X -h {host} -p {port} -U {user} -d {dbname}"


def _pg(check: str, *args: str) -> list[str]:
    """``python -m opsbooks_playbooks.actions.diagnose.pg CHECK --host ... ARGS``."""
    return [
        *("python", "-m", "opsbooks_playbooks.actions.diagnose.pg", check),
        *("--host", "{host}", "--port", "{port}", "--dbname", "{dbname}", "--user", "{user}"),
        *("--timeout", "{connect_timeout}", *args),
    ]


class Database(ob.Runbook):
    """Diagnose a PostgreSQL database (or a SQLite file) that is down, slow or failing.

    Use it when an application reports database errors or slow queries. The tree checks,
    in order, what takes a database down first: is the server accepting connections
    (`pg_isready`), are the connection slots used up (`pg_stat_activity` against
    `max_connections`), are sessions waiting on locks (`pg_locks`, with the blocking
    pid from `pg_blocking_pids`), are queries running far too long, and is a standby
    lagging (`pg_stat_replication`; no standby is normal). The first fault ends the
    run at its diagnosis with the commands to fix it. For lock contention the run
    offers to terminate the blocking backend, behind a gate. With `sqlite_path` it
    runs `PRAGMA integrity_check` on that file instead.
    """

    title = "Troubleshoot Database Problems"
    owner = "Database reliability (DBRE)"
    scope = (
        "PostgreSQL 12+ servers our services use (primary or standby), reached over TCP, "
        "and SQLite database files on this host. Not for logins that fail with a bad "
        "password: use troubleshoot.authentication. Not for restoring lost data: use "
        "backup.restore."
    )
    prerequisites = [
        "`pg_isready` and `psql` (package postgresql-client) on this host",
        "A role that may read pg_stat_activity and pg_locks of every session: a superuser "
        "or a member of pg_monitor (and pg_signal_backend to terminate a backend)",
        "Its password, if it needs one, in `PGPASSWORD` or `~/.pgpass`, never a flag",
        "For SQLite: read access to the database file",
    ]
    verification = [
        "The run ends at the diagnosis healthy (or sqlite_healthy)",
        "After a fix, run it again: the diagnosis moves on to healthy or the next fault",
        "The application's own health check and error rate are back to normal",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`permission denied for function pg_terminate_backend`",
            cause="The role is neither a superuser nor a member of pg_signal_backend.",
            solution="`GRANT pg_signal_backend TO <role>;` as a superuser, or run as one.",
        ),
        ob.Trouble(
            symptom="Every other session shows `<insufficient privilege>` as its query",
            cause="The role cannot see other roles' sessions in pg_stat_activity.",
            solution="`GRANT pg_monitor TO <role>;` and run the tree again.",
        ),
        ob.Trouble(
            symptom="saturated, but `pg_stat_activity` shows mostly `idle` sessions",
            cause="Application pools hold connections open without using them.",
            solution=(
                "Lower the pools' maximum size or put PgBouncer in transaction mode in "
                "front; set `idle_session_timeout` for stray clients."
            ),
        ),
        ob.Trouble(
            symptom="lock_contention again right after terminating the blocker",
            cause="The application reopens the same long transaction (a migration, a batch).",
            solution="Find it by `application_name` and `client_addr`, and stop it at its source.",
        ),
    ]
    recovery = (
        "Every check only reads. The one change the tree can make is terminating the "
        "backend that blocks others, after a person confirms it: that backend's open "
        "transaction is rolled back by PostgreSQL and its client must reconnect. It "
        "cannot be undone; if the wrong session was ended, its client retries its work. "
        "Apply the other resolutions by hand, then run the tree again."
    )
    related = ["troubleshoot.performance", "troubleshoot.authentication", "backup.restore"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change(
            "2026-12-02",
            "First version: reachability, saturation, locks, long queries, lag, SQLite",
            "dbre",
        )
    ]

    class Params(ob.Params):
        host: ob.NoOption = ob.Field("127.0.0.1", description="PostgreSQL host")
        port: int = ob.Field(5432, ge=1, le=65535, description="PostgreSQL port")
        dbname: ob.NoOption = ob.Field("postgres", description="Database to connect to")
        user: ob.NoOption = ob.Field("postgres", description="Role to connect as")
        connect_timeout: int = ob.Field(5, ge=1, le=60, description="Seconds to wait to connect")
        max_connections_pct: float = ob.Field(
            80.0,
            ge=0,
            le=100,
            description="Saturated at or above this percentage of max_connections",
        )
        long_query_seconds: float = ob.Field(
            300.0, ge=0, description="A query active longer than this is long-running"
        )
        max_lag_bytes: int = ob.Field(
            16 * 1024 * 1024, ge=0, description="A standby further behind (bytes of WAL) lags"
        )
        sqlite_path: ob.NoOption = ob.Field(
            "", description="Check this SQLite file instead of PostgreSQL (empty: PostgreSQL)"
        )

    engine = ob.Branch(
        cases=[("sqlite_path", "sqlite_integrity")],
        title="PostgreSQL or SQLite?",
    )
    reachable = ob.Command(
        "pg_isready -h {host} -p {port} -d {dbname} -U {user} -t {connect_timeout}; "
        'echo "::output ready_code=$?"',
        outputs=("ready_code",),
        title="Is the server accepting connections?",
        description="pg_isready exits 0 accepting, 1 rejecting, 2 no response, 3 bad params.",
        idempotent=True,
        rerun_on_resume=True,
    )
    route_reachable = ob.Branch(
        cases=[
            ("outputs.ready_code == 2", "server_down"),
            ("outputs.ready_code == 1", "server_rejecting"),
            ("outputs.ready_code != 0", "bad_connection_params"),
        ],
        title="Does it accept connections?",
    )
    survey = ob.Command(
        _pg(
            "survey",
            *("--max-pct", "{max_connections_pct}", "--seconds", "{long_query_seconds}"),
        ),
        outputs=(
            *("connect", "connections", "max_connections", "connections_pct", "connect_error"),
            *("lock_waits", "waiting_pid", "blocking_pid", "locked_relation"),
            *("terminate_sql", "blocker_sql"),
            *("long_queries", "longest_pid", "longest_seconds", "longest_query", "cancel_sql"),
            *("standbys", "in_recovery", "worst_standby", "lag_bytes", "lag_seconds"),
        ),
        title="Survey sessions, locks, queries and standbys",
        description=(
            "One session reads pg_stat_activity against max_connections, pg_locks with "
            "pg_blocking_pids, active queries older than long_query_seconds, and "
            "pg_stat_replication: one consistent snapshot for the decisions below."
        ),
        idempotent=True,
        rerun_on_resume=True,
    )
    route_connections = ob.Branch(
        cases=[
            ("outputs.connect == 'too_many_clients'", "saturated"),
            ("outputs.connect == 'auth_failed'", "login_refused"),
            ("outputs.connect != 'ok'", "escalate_connect"),
            ("outputs.connections_pct >= max_connections_pct", "saturated"),
        ],
        title="Are connection slots left?",
    )
    route_locks = ob.Branch(
        cases=[("outputs.lock_waits > 0", "offer_terminate")],
        title="Is a session blocked by another?",
    )
    route_long = ob.Branch(
        cases=[("outputs.long_queries > 0", "long_running")],
        title="Is a query running too long?",
    )
    route_replication = ob.Branch(
        cases=[("outputs.standbys > 0 and outputs.lag_bytes > max_lag_bytes", "replication_lag")],
        title="Is a standby lagging?",
    )
    healthy = ob.Diagnosis(
        "PostgreSQL at {host}:{port} accepts connections, uses {outputs.connections_pct}% "
        "of max_connections, has no lock waits, no query active longer than "
        "{long_query_seconds}s and no standby behind by more than {max_lag_bytes} bytes",
        resolution=(
            "The database itself looks healthy. Look at the client side: its connection "
            "pool, its slow queries (pg_stat_statements), or the host (troubleshoot.performance)."
        ),
        commands=[
            f"{_PSQL} -c 'SELECT query, calls, mean_exec_time FROM pg_stat_statements "
            "ORDER BY mean_exec_time DESC LIMIT 10'",
            "opsbooks run troubleshoot.performance",
        ],
        title="No database fault found",
    )
    server_down = ob.Diagnosis(
        "PostgreSQL at {host}:{port} does not answer (pg_isready: no response)",
        resolution=(
            "The server is stopped, crashed, or not listening on that address. Check the "
            "service and its log; if it crashed, the log's last FATAL/PANIC line says why "
            "(a full disk, a bad setting after a restart). Start it once the cause is fixed."
        ),
        commands=[
            "systemctl status postgresql",
            "journalctl -u postgresql --since '-30 min' --no-pager | tail -50",
            "ss -ltnp | grep {port}",
            "pg_lsclusters",
            "df -h /var/lib/postgresql",
        ],
        title="Server down",
    )
    server_rejecting = ob.Diagnosis(
        "PostgreSQL at {host}:{port} is up but rejecting connections "
        "(starting up, shutting down or in crash recovery)",
        resolution=(
            "Wait for recovery to finish and watch the log; a recovery that does not "
            "progress, or a shutdown that hangs, is escalated to the DBRE on-call."
        ),
        commands=[
            "journalctl -u postgresql --since '-15 min' --no-pager | tail -50",
            "pg_isready -h {host} -p {port}",
        ],
        title="Server rejecting connections",
    )
    bad_connection_params = ob.Diagnosis(
        "pg_isready could not even try to connect to {host}:{port} (exit code "
        "{outputs.ready_code}): the connection parameters are invalid",
        resolution=(
            "Check that the host name resolves and that the port and the database name "
            "are right; a database name with `=` is read as a connection string, whose "
            "keywords and values must all be valid (`sslmode=require`, not `sslmode=yes`)."
        ),
        commands=["getent hosts {host}", "pg_isready -h {host} -p {port} -d {dbname}"],
        title="Bad connection parameters",
    )
    saturated = ob.Diagnosis(
        "Connection slots are exhausted: {outputs.connections_pct}% of max_connections in use "
        "({outputs.connections} of {outputs.max_connections}; -1 when no slot was left "
        "for this check)",
        resolution=(
            "Find who holds the connections and whether they are idle. Terminate idle "
            "sessions of a leaking client, lower its pool size, or put PgBouncer in front; "
            "raise max_connections only with the memory to back it (it needs a restart)."
        ),
        commands=[
            f"{_PSQL} -c 'SELECT usename, application_name, client_addr, state, count(*) "
            "FROM pg_stat_activity GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC'",
            f'{_PSQL} -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE '
            "state = 'idle' AND state_change < now() - interval '10 minutes'\"",
            f"{_PSQL} -c 'SHOW max_connections'",
        ],
        title="Connections saturated",
    )
    login_refused = ob.Diagnosis(
        "The server refused the login of {user} to {dbname}: {outputs.connect_error}",
        resolution=(
            "The role or database does not exist, or pg_hba.conf / the password refuses "
            "it. Follow troubleshoot.authentication."
        ),
        commands=[
            f"{_PSQL} -c 'SELECT rolname, rolcanlogin FROM pg_roles'",
            "opsbooks run troubleshoot.authentication",
        ],
        title="Login refused",
    )
    escalate_connect = ob.Diagnosis(
        "pg_isready says the server accepts connections, but connecting failed: "
        "{outputs.connect_error}",
        resolution="An unexpected connection failure: escalate with this run's report.",
        commands=["opsbooks report {run_id}"],
        escalate="L2",
        title="Unexplained connection failure",
    )
    offer_terminate = ob.Gate.confirm(
        "{outputs.lock_waits} session(s) wait on a lock on {outputs.locked_relation}, "
        "held by backend {outputs.blocking_pid}. Terminate backend {outputs.blocking_pid}?",
        on_decline="skip",
        title="Terminate the blocking backend?",
        description=(
            "Before saying yes, look at the blocker in pg_stat_activity (its user, "
            "application, client address and query): terminating it rolls back its open "
            "transaction. Say no for a migration or a batch job the owner must stop."
        ),
    )
    terminate_blocker = ob.Command(
        _pg("terminate", "--pid", "{outputs.blocking_pid}"),
        when="offer_terminate",
        title="Terminate the blocking backend",
        irreversible=(
            "a terminated backend's open transaction is rolled back by PostgreSQL; "
            "its client must reconnect and retry"
        ),
    )
    lock_contention = ob.Diagnosis(
        "Backend {outputs.blocking_pid} holds a lock on {outputs.locked_relation} that "
        "{outputs.lock_waits} session(s) wait for (first waiter: pid {outputs.waiting_pid})",
        resolution=(
            "Find what the blocker is doing; if it is an abandoned or runaway transaction, "
            "terminate it (the gate above offers to). Then fix the client that keeps a "
            "transaction open: set idle_in_transaction_session_timeout and lock_timeout."
        ),
        commands=[
            f"{_PSQL} -c {{outputs.blocker_sql}}",
            f"{_PSQL} -c {{outputs.terminate_sql}}",
        ],
        title="Lock contention",
    )
    long_running = ob.Diagnosis(
        "{outputs.long_queries} query(ies) active longer than {long_query_seconds}s; the "
        "longest, pid {outputs.longest_pid}, for {outputs.longest_seconds}s: "
        "{outputs.longest_query}",
        resolution=(
            "Cancel the query if it is a runaway (pg_cancel_backend keeps the session), "
            "then EXPLAIN it: a missing index or stale statistics is the usual cause. Set "
            "statement_timeout for the role that runs it."
        ),
        commands=[
            f"{_PSQL} -c {{outputs.cancel_sql}}",
            f"{_PSQL} -c 'SELECT pid, now() - query_start AS age, query FROM "
            "pg_stat_activity WHERE state = 'active' ORDER BY age DESC'",
            f"{_PSQL} -c 'ANALYZE VERBOSE'",
        ],
        title="Long-running queries",
    )
    replication_lag = ob.Diagnosis(
        "Standby {outputs.worst_standby} is {outputs.lag_bytes} bytes of WAL "
        "({outputs.lag_seconds}s) behind the primary, over the {max_lag_bytes}-byte limit",
        resolution=(
            "Check whether replay is paused or blocked by a conflicting query on the "
            "standby, and whether its disk or network keeps up. A standby that keeps "
            "falling behind is escalated: failover to it would lose that much data."
        ),
        commands=[
            f"{_PSQL} -c 'SELECT * FROM pg_stat_replication'",
            "psql -X -h STANDBY -c 'SELECT pg_is_wal_replay_paused(), "
            "pg_last_xact_replay_timestamp()'",
            "psql -X -h STANDBY -c 'SELECT pg_wal_replay_resume()'",
        ],
        escalate="L2",
        title="Replication lag",
    )
    sqlite_integrity = ob.Command(
        [
            "python",
            "-m",
            "opsbooks_playbooks.actions.diagnose.sqlite",
            "integrity",
            "--path={sqlite_path}",
        ],
        outputs=("integrity", "integrity_detail"),
        title="Run PRAGMA integrity_check",
        idempotent=True,
        rerun_on_resume=True,
    )
    route_sqlite = ob.Branch(
        cases=[
            ("outputs.integrity == 'missing'", "sqlite_missing"),
            ("outputs.integrity != 'ok'", "sqlite_corrupt"),
        ],
        title="Is the file intact?",
    )
    sqlite_healthy = ob.Diagnosis(
        "{sqlite_path} passes PRAGMA integrity_check",
        resolution="The file is intact; look at the application's queries and locking.",
        commands=["sqlite3 {sqlite_path} 'PRAGMA journal_mode; PRAGMA busy_timeout;'"],
        title="SQLite file intact",
    )
    sqlite_missing = ob.Diagnosis(
        "The SQLite database is missing: {outputs.integrity_detail}",
        resolution="Check the path the application is configured with, and its mounts.",
        commands=["ls -l {sqlite_path}", "findmnt -T {sqlite_path}"],
        title="SQLite file missing",
    )
    sqlite_corrupt = ob.Diagnosis(
        "{sqlite_path} is corrupt: {outputs.integrity_detail}",
        resolution=(
            "Stop the writers, keep a copy of the damaged file, and restore the latest "
            "verified backup (backup.restore). `.recover` can salvage rows into a new file "
            "for what the backup lacks."
        ),
        commands=[
            "cp -p {sqlite_path} {sqlite_path}.corrupt",
            "sqlite3 {sqlite_path} .recover > recovered.sql",
            "opsbooks run backup.restore",
        ],
        escalate="L2",
        title="SQLite file corrupt",
    )
