"""Recover one table's rows from a backup, through a scratch copy, behind a diff gate."""

from __future__ import annotations

from typing import Literal

import opsbooks as ob
from opsbooks_playbooks.actions.maintenance import TABLE_PATTERN
from opsbooks_playbooks.backup import DB_URL_HELP
from opsbooks_playbooks.maintenance import maint_action

ENV = {"DB_URL": "{db}", "SCRATCH_URL": "{scratch_server}"}
JOB = (
    "--db",
    "env:DB_URL",
    "--server",
    "env:SCRATCH_URL",
    "--table",
    "{table}",
    "--key",
    "{key}",
    "--work",
    "{work_dir}",
    "--run={run_id}",
)


def recover(action: str, *more: str) -> list[str]:
    """Argv of one step of the recovery action, with the job's common options."""
    return maint_action("recover", action, *JOB, *more)


class DataRecovery(ob.Runbook):
    """Bring back one table's lost or damaged rows from a backup, leaving the rest alone.

    Use it when a bad deploy, a wrong `DELETE` or `UPDATE`, or a broken import damaged
    one table and restoring the whole database (backup.restore) would throw away
    everyone else's writes since the backup. The table is restored from the backup
    (the newest verified one, or the newest taken by `point_in_time`; its checksum
    checked first) into a scratch database, its rows are counted, checksummed and
    sampled, the diff against the live table is shown, and only after a person
    confirms the diff are the rows copied back, in one transaction, after a safety
    dump of the live table.
    """

    title = "Single-Table Data Recovery"
    owner = "Platform engineering"
    severity = "high"
    scope = (
        "One table of one SQLite or PostgreSQL database, from backups made by "
        "`backup.run` (pg_dump custom format or SQLite backup files). `merge` brings back "
        "missing and changed rows and keeps rows written since; `replace` makes the "
        "table exactly the backup's."
    )
    prerequisites = [
        "The table's owner agrees which rows are to come back and from which time",
        "The table has a key column (`key`, default `id`) that identifies a row",
        "PostgreSQL: a user that may create and drop databases on the scratch server",
        "The writers that damaged the table are stopped or fixed",
    ]
    verification = [
        "`verify_scratch` printed the backup's row count, a checksum and the sample answer",
        "`check_copy_back` passed: every backup row is in the live table",
        "The application shows the recovered rows; other tables were not touched",
        "The safety dump in `work_dir` (default: data-recovery in the state directory) "
        "is kept until the owner confirms",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`pick_backup` fails: `no verified backup ... taken at or before`",
            cause="No verified backup is older than `point_in_time`.",
            solution="List them: "
            "`python -m opsbooks_playbooks.actions.db latest --dest DIR --json`; "
            "verify one (backup.verify) or choose a later time.",
        ),
        ob.Trouble(
            symptom="`diff` fails: `has other columns now than in the backup`",
            cause="A migration changed the table after the backup was taken.",
            solution="Migrate the scratch copy to the current schema by hand (its name is "
            "in `restore_scratch`'s output), then resume the run at `diff`.",
        ),
        ob.Trouble(
            symptom="`copy_back` fails with a foreign-key or unique violation",
            cause="Rows written since the backup conflict with the rows coming back.",
            solution="Nothing was changed (one transaction). Resolve the conflicting rows "
            "with the owner, then resume.",
        ),
        ob.Trouble(
            symptom="`check_copy_back` fails: `still differs from the backup`",
            cause="A writer changed the table between the copy-back and the check.",
            solution="Stop the writer; the run rolls back to the safety dump; run again.",
        ),
    ]
    recovery = (
        "If `check_copy_back` or a later step fails, rollback runs `undo_copy_back`: the "
        "table's rows are replaced by the safety dump taken just before, in one "
        "transaction, and the scratch copy is dropped. By hand: `python -m "
        "opsbooks_playbooks.actions.maintenance recover undo --db env:DB_URL --table T --work DIR "
        "--run RUN`."
    )
    related = ["backup.restore", "backup.verify", "backup.run"]
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [
        ob.Change("2026-12-02", "First version: one table, SQLite and PostgreSQL"),
        ob.Change("2026-12-02", "work_dir defaults to data-recovery in the configured state dir"),
    ]

    class Params(ob.Params):
        backup: ob.NoOption = ob.Field(
            description="Backup file, or a backup directory (its newest verified backup)"
        )
        db: ob.SecretStr = ob.Field(description=f"Live database: {DB_URL_HELP}")
        table: str = ob.Field(pattern=TABLE_PATTERN, description="Table to recover")
        key: str = ob.Field(
            "id", pattern=r"^[a-z_][a-z0-9_]*$", description="Column that identifies a row"
        )
        point_in_time: str = ob.Field(
            "",
            pattern=r"^$|^\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:?\d\d)?$",
            description="Recover the state of the newest backup taken at or before this "
            "ISO 8601 time (empty: the newest verified backup)",
        )
        sample_sql: str = ob.Field(
            "",
            description="A read-only query run on the restored copy, shown before the "
            "gate (e.g. SELECT count(*) FROM orders WHERE day = '2026-12-01')",
        )
        mode: Literal["merge", "replace"] = ob.Field(
            "merge",
            description="merge: insert missing and restore changed rows, keep newer ones; "
            "replace: the table becomes exactly the backup's",
        )
        work_dir: ob.NoOption = ob.Field(
            "",
            description="Folder for the scratch SQLite copy and the safety dump (empty: "
            "data-recovery in the configured state_dir)",
        )
        scratch_server: ob.SecretStr = ob.Field(
            ob.SecretStr(""),
            description="PostgreSQL server for the scratch database (empty: the live one's)",
        )

    pick_backup = ob.Command(
        maint_action(
            "pick-backup", "--backup", "{backup}", "--before={point_in_time}", "--table", "{table}"
        ),
        outputs=("backup_file", "backup_taken", "backup_rows"),
        title="Pick the backup",
        description="The newest verified backup (taken at or before `point_in_time`), "
        "with the table's row count from its manifest.",
        idempotent=True,
        irreversible="read-only choice",
    )
    restore_scratch = ob.Command(
        recover("scratch", "--backup", "{outputs.backup_file}"),
        env=ENV,
        title="Restore the table into scratch",
        description="PostgreSQL: `pg_restore -n SCHEMA -t TABLE` into a new scratch "
        "database; SQLite: a copy of the backup file.",
        undo="drop_scratch_copy",
    )
    drop_scratch_copy = ob.Command(
        recover("drop-scratch"), env=ENV, title="Drop the scratch copy (rollback)"
    )
    verify_scratch = ob.Verify(
        recover("verify", "--sample-sql={sample_sql}", "--expect-rows", "{outputs.backup_rows}"),
        env=ENV,
        title="Verify the restored rows",
        description="Row count (must equal the manifest's), a checksum over the rows and "
        "the sample query's answer.",
        expect="the scratch copy holds the backup's rows",
    )
    diff = ob.Command(
        recover("diff", "--mode", "{mode}"),
        env=ENV,
        outputs=("to_insert", "to_update", "to_delete"),
        title="Diff against the live table",
        description="Rows the copy-back would insert, update and (replace mode) delete, "
        "with the first 20 keys of each, counted in a transaction that is rolled back.",
        idempotent=True,
        irreversible="read-only: counted in a transaction that is rolled back",
    )
    approve = ob.Gate.confirm(
        "Copy {table} back from the backup taken {outputs.backup_taken} ({mode} mode): "
        "{outputs.to_insert} row(s) inserted, {outputs.to_update} updated, "
        "{outputs.to_delete} deleted in the live table (the keys are listed by step "
        "diff). Type the table's name to go on.",
        phrase="{table}",
        title="Confirm the diff",
        description=(
            "Compare the counts with what the owner expects to come back (a DELETE of 40 "
            "orders should read 40 inserts, 0 updates); check the sample answer in "
            "verify_scratch. Any surprise: decline and investigate."
        ),
    )
    copy_back = ob.Command(
        recover("copy-back", "--mode", "{mode}"),
        env=ENV,
        title="Take the safety dump, then copy the rows back",
        description="First the safety dump of the live table (PostgreSQL: `pg_dump -Fc "
        "--data-only -t TABLE`; SQLite: its rows in a new file; the rows' checksum beside "
        "it), then one transaction: insert missing rows, restore changed ones, and "
        "(replace) delete rows the backup does not have.",
        undo="undo_copy_back",
    )
    undo_copy_back = ob.Command(
        recover("undo"),
        env=ENV,
        title="Put the safety dump back",
        description="Deletes the table's rows and loads the safety dump, in one "
        "transaction; checks the checksum.",
    )
    check_copy_back = ob.Verify(
        recover("check", "--mode", "{mode}"),
        env=ENV,
        title="Check the copy-back",
        description="The diff again: nothing left to insert or update (or delete).",
        expect="the live table holds every row of the backup",
    )
    drop_scratch = ob.Command(
        recover("drop-scratch"),
        env=ENV,
        title="Drop the scratch copy",
        idempotent=True,
        irreversible="removes only the scratch copy; the backup still holds the rows",
    )
    announce = ob.Notify(
        "{table} recovered from the backup taken {outputs.backup_taken} ({mode}): "
        "{outputs.to_insert} inserted, {outputs.to_update} updated, {outputs.to_delete} "
        "deleted.",
        title="Announce the recovery",
    )
