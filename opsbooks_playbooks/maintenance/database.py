"""Database upkeep: VACUUM (ANALYZE), ANALYZE or REINDEX with figures before and after."""

from __future__ import annotations

from typing import Literal

import opsbooks as ob
from opsbooks_playbooks.backup import DB_URL_HELP, db_action
from opsbooks_playbooks.maintenance import maint_action

TABLES = r"^$|^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?(,[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?)*$"
DB_ENV = {"DB_URL": "{db}"}
BEFORE = "{report_dir}/{run_id}-before.json"
AFTER = "{report_dir}/{run_id}-after.json"


class MaintenanceDatabase(ob.Runbook):
    """Reclaim dead-row space, refresh planner statistics and rebuild bloated indexes.

    Use it on a schedule (weekly for busy tables) or when the figures say so: a table
    whose `n_dead_tup` keeps growing because autovacuum cannot keep up, slow plans
    after a bulk load (stale statistics), or indexes much larger than their table.
    Every run measures table and index sizes, dead tuples and a bloat estimate before
    and after, prints them as `::metric` lines and a summary, and asks before
    rebuilding the indexes of a large table. SQLite files get `VACUUM`,
    `PRAGMA optimize` and `PRAGMA integrity_check`, with the file size before and after.
    """

    title = "Database Maintenance"
    owner = "Platform engineering"
    severity = "medium"
    scope = (
        "One PostgreSQL database (all its user tables, or the ones named) or one SQLite "
        "file. Not for VACUUM FULL or CLUSTER, which lock the table for the whole "
        "rewrite: plan those as a change with downtime."
    )
    prerequisites = [
        "The database user owns the tables (VACUUM and REINDEX need ownership)",
        "Free disk space of at least the largest index's size (REINDEX CONCURRENTLY builds "
        "a second copy before dropping the old one)",
        "Off-peak hours for `reindex` or `full` on large tables: the rebuild adds I/O",
        "The password is in ~/.pgpass or given as OPSBOOKS_SECRET_DB (never in argv)",
    ]
    verification = [
        "`summary` shows dead tuples after near 0 for the vacuumed tables",
        "`integrity` passed: no invalid index left (PostgreSQL), integrity_check ok (SQLite)",
        "The run's metrics (`opsbooks report RUN`) hold before_/after_ figures and "
        "reclaimed_bytes for the trend dashboard",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`vacuum` finishes but `after` still shows many dead tuples",
            cause="A long-running transaction or an abandoned replication slot holds back "
            "the xmin horizon, so the dead rows are still visible to someone.",
            solution='Find it: `psql -c "SELECT pid, state, xact_start, query FROM '
            'pg_stat_activity WHERE backend_xmin IS NOT NULL ORDER BY xact_start"` and '
            "`psql -c 'SELECT slot_name, active FROM pg_replication_slots'`; end it with "
            "its owner's agreement, then run again.",
        ),
        ob.Trouble(
            symptom="`integrity` fails: `invalid indexes ... _ccnew`",
            cause="A REINDEX CONCURRENTLY was cancelled or failed (lock timeout, deadlock, "
            "disk full) and left the half-built copy behind.",
            solution="Drop each one with `DROP INDEX CONCURRENTLY name`, free disk space "
            "if that was the cause, and run again with operation `reindex`.",
        ),
        ob.Trouble(
            symptom="`vacuum` fails with `must be owner of table`",
            cause="The connecting user does not own the table.",
            solution="Connect as the owner (or a superuser); `psql -c '\\dt+'` shows owners.",
        ),
        ob.Trouble(
            symptom="SQLite `VACUUM` fails with `database is locked`",
            cause="A writer holds the file; VACUUM needs it to itself.",
            solution="Stop the writer for the minute VACUUM takes, then run again.",
        ),
    ]
    recovery = (
        "VACUUM, ANALYZE and REINDEX change no data: there is nothing to roll back. If a "
        "REINDEX CONCURRENTLY fails, the old index keeps serving; drop the invalid copy "
        "(`DROP INDEX CONCURRENTLY`) and run again. If the server is overloaded, cancel "
        "with Ctrl-C (the statement is cancelled) and resume off-peak."
    )
    related = ["maintenance.performance_investigation", "backup.run", "backup.verify"]
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [ob.Change("2026-12-02", "First version: PostgreSQL and SQLite")]

    class Params(ob.Params):
        db: ob.SecretStr = ob.Field(description=f"Database to maintain: {DB_URL_HELP}")
        operation: Literal["vacuum", "analyze", "reindex", "full"] = ob.Field(
            "vacuum",
            description="vacuum: VACUUM (ANALYZE) (SQLite: VACUUM, PRAGMA optimize); "
            "analyze: statistics only; reindex: rebuild indexes; full: vacuum then reindex",
        )
        tables: str = ob.Field(
            "",
            pattern=TABLES,
            description="Comma-separated tables (name or schema.name); empty: every user table",
        )
        large_table_bytes: int = ob.Field(
            1 << 30,
            ge=0,
            description="A REINDEX of a table at least this large (heap + indexes) needs approval",
        )
        report_dir: ob.NoOption = ob.Field(
            ".opsbooks/maintenance", description="Folder for the before/after figure files"
        )

    check_db = ob.Verify(
        db_action("check", "--db", "env:DB_URL"),
        env=DB_ENV,
        title="Check the database",
        description="`pg_isready` and `SELECT 1` (SQLite: the file opens and is sound).",
        expect="the database accepts connections",
    )
    before = ob.Command(
        maint_action(
            "figures",
            "--db",
            "env:DB_URL",
            "--tables={tables}",
            "--label",
            "before",
            "--save",
            BEFORE,
            "--large-bytes",
            "{large_table_bytes}",
        ),
        env=DB_ENV,
        outputs=("large_tables",),
        title="Measure before",
        description="pg_total_relation_size, pg_relation_size, pg_indexes_size and "
        "n_live_tup / n_dead_tup per table, and the bloat estimate; SQLite: file size "
        "and free pages. Publishes the tables at least `large_table_bytes` large.",
        idempotent=True,
        irreversible="read-only measurement; it changes nothing",
    )
    vacuum = ob.Command(
        maint_action("operate", "--db", "env:DB_URL", "--operation", "vacuum", "--tables={tables}"),
        env=DB_ENV,
        when='operation in ["vacuum", "full"]',
        title="VACUUM (ANALYZE)",
        description="Marks dead rows' space reusable and refreshes statistics, table by "
        "table, without blocking reads or writes. SQLite: VACUUM rewrites the file without "
        "its free pages, then PRAGMA optimize.",
        idempotent=True,
        irreversible="VACUUM frees only space that held dead rows; there is no earlier "
        "state to return to",
    )
    analyze = ob.Command(
        maint_action(
            "operate", "--db", "env:DB_URL", "--operation", "analyze", "--tables={tables}"
        ),
        env=DB_ENV,
        when='operation == "analyze"',
        title="ANALYZE",
        description="Refreshes the planner's statistics only.",
        idempotent=True,
        irreversible="statistics are recomputed, never restored",
    )
    approve_reindex = ob.Gate.confirm(
        "Rebuild the indexes of the large table(s) {outputs.large_tables}? PostgreSQL 12+ "
        "runs REINDEX TABLE CONCURRENTLY (no write lock, but a second copy of each index "
        "is built first and the I/O is heavy); older servers block writes meanwhile.",
        when='operation in ["reindex", "full"] and outputs.large_tables != "none"',
        title="Approve REINDEX on a large table",
        description=(
            "Check in `before` that free disk space exceeds the largest index's size, that "
            "it is off-peak for the table's writers, and that replicas have little lag "
            "(the rebuild is replicated too). Decline to stop here; resume off-peak."
        ),
    )
    reindex = ob.Command(
        maint_action(
            "operate", "--db", "env:DB_URL", "--operation", "reindex", "--tables={tables}"
        ),
        env=DB_ENV,
        when='operation in ["reindex", "full"]',
        title="REINDEX",
        description="REINDEX TABLE CONCURRENTLY per table where the server supports it "
        "(PostgreSQL 12+), else REINDEX TABLE; SQLite: REINDEX.",
        idempotent=True,
        irreversible="an index rebuilt from its table holds the same entries; nothing to undo",
    )
    integrity = ob.Verify(
        maint_action("integrity", "--db", "env:DB_URL"),
        env=DB_ENV,
        title="Check integrity",
        description="PostgreSQL: reachable and no index left invalid (pg_index.indisvalid); "
        "SQLite: PRAGMA integrity_check answers ok.",
        expect="the database is sound",
    )
    after = ob.Command(
        maint_action(
            "figures",
            "--db",
            "env:DB_URL",
            "--tables={tables}",
            "--label",
            "after",
            "--save",
            AFTER,
        ),
        env=DB_ENV,
        title="Measure after",
        description="The same figures as `before`, as `after_*` metrics.",
        idempotent=True,
        irreversible="read-only measurement; it changes nothing",
    )
    summary = ob.Command(
        maint_action("summary", "--before", BEFORE, "--after", AFTER),
        title="Summarise",
        description="Before/after per table, `::metric reclaimed_bytes=` and "
        "`::metric dead_tuples_removed=`.",
        idempotent=True,
        irreversible="read-only report",
    )
