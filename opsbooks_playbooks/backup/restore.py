"""Restore a database from a backup, behind an approval gate, keeping the old copy."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.backup import DB_URL_HELP, URLS_ENV, db_action


class BackupRestore(ob.Runbook):
    """Restore a database from a verified backup, replacing what is there now.

    Use it when data was lost or corrupted and the newest good backup is the way back.
    The restore is approved by typing the target's name after seeing the backup's age;
    writers are stopped first if a command is given; the database being replaced is
    kept (`<file>.pre-restore` or database `<name>_pre_restore`) so a failed or
    regretted restore can be undone.
    """

    title = "Database Restore"
    owner = "Platform engineering"
    severity = "high"
    scope = (
        "One SQLite database file or one PostgreSQL database, restored from a backup "
        "made by `backup.run`. Data written after the backup is lost unless it is "
        "recovered from the `pre-restore` copy."
    )
    prerequisites = [
        "The incident lead has approved losing writes made after the backup",
        "You know how to stop and start the applications writing to the database",
        "The backup verifies (the first step checks it again)",
        "PostgreSQL: a user allowed to create, rename and drop databases on the target server",
    ]
    verification = [
        "`verify_restore` printed `matches`: every table holds the backup's row count",
        "The applications are running again and serving reads and writes",
        "The `.pre-restore` file (or `_pre_restore` database) exists until you are sure",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`check_backup` fails with `checksum mismatch`",
            cause="The backup was changed after it was taken; restore refuses it.",
            solution="Pick an older verified backup (`latest --verified-only` after "
            "removing the bad one from the directory) and start again.",
        ),
        ob.Trouble(
            symptom="`restore` fails: `database ... is being accessed by other users`",
            cause="A writer reconnected between being stopped and the swap.",
            solution="Stop it for good (`stop_writers_command`) and resume the run.",
        ),
        ob.Trouble(
            symptom="`verify_restore` reports different row counts",
            cause="A writer wrote into the restored database before verification.",
            solution="Stop the writers, run the restore again, then reopen them.",
        ),
        ob.Trouble(
            symptom="The confirmation phrase is refused",
            cause="The gate wants the exact `target_name`.",
            solution="Type the target's name as shown in the prompt.",
        ),
    ]
    recovery = (
        "If a step after the restore fails, rollback runs `undo_restore`, which puts the "
        "`.pre-restore` file (or `<name>_pre_restore` database) back, or removes the "
        "database when the restore created it, then starts the writers again. To undo "
        "by hand: stop the writers and run "
        "`python -m opsbooks_playbooks.actions.db undo-restore --db URL`."
    )
    related = ["backup.verify", "backup.run", "dr.disaster_recovery"]
    last_reviewed = "2026-11-28"
    changelog = [ob.Change("2026-11-28", "First version: SQLite and PostgreSQL")]

    class Params(ob.Params):
        backup: ob.NoOption = ob.Field(
            description="Backup file, or a backup directory to restore its newest verified backup"
        )
        db: ob.SecretStr = ob.Field(description=f"Database to restore into: {DB_URL_HELP}")
        target_name: str = ob.Field(
            description="Name of the target as people say it; typed to approve the restore"
        )
        stop_writers_command: str = ob.Field(
            "", description="Shell command that stops the writers (empty: none to stop)"
        )
        start_writers_command: str = ob.Field(
            "", description="Shell command that starts the writers again (empty: none)"
        )
        scratch_server: ob.SecretStr = ob.Field(
            ob.SecretStr(""),
            description="PostgreSQL server for the pre-restore check (empty: the target's)",
        )

    check_backup = ob.Verify(
        db_action(
            "verify",
            "--backup",
            "{backup}",
            "--server",
            "env:SCRATCH_URL",
            "--server",
            "env:DB_URL",
        ),
        env=URLS_ENV,
        title="Check the backup",
        description="Checksum, scratch restore and row counts, before anything is touched.",
        expect="checksum ok and row counts match",
    )
    backup_age = ob.Command(
        db_action("age", "--backup", "{backup}", "--verified-only", "--json"),
        title="Show the backup's age",
        description="Prints the backup file, when it was taken and its age; the approver "
        "reads it before answering the gate.",
        idempotent=True,
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    approve = ob.Gate.confirm(
        "Restore the backup {backup} onto {target_name}? Everything written there after "
        "the backup was taken (see its age above, step backup_age) is replaced; the "
        "current data is kept as a pre-restore copy.",
        phrase="{target_name}",
        title="Restore approved",
        description=(
            "Check the backup's age (step backup_age) against how much data loss the owner "
            "accepts, and that the target is the one meant. Type its name only if both hold."
        ),
    )
    stop_writers = ob.Command(
        ["sh", "-c", "--", "{stop_writers_command}"],
        title="Stop the writers",
        when="stop_writers_command",
        undo=ob.Command(
            ["sh", "-c", "--", "{start_writers_command}"], title="Start the writers again"
        ),
    )
    restore = ob.Command(
        db_action(
            "restore",
            "--backup",
            "{backup}",
            "--verified-only",
            "--db",
            "env:DB_URL",
            "--force",
            "--json",
        ),
        env={"DB_URL": "{db}"},
        title="Restore the backup",
        description="Restores into a temporary file or database, then swaps it in; the "
        "replaced data is kept as the pre-restore copy.",
        undo=ob.Command(
            db_action("undo-restore", "--db", "env:DB_URL"),
            env={"DB_URL": "{db}"},
            title="Put the pre-restore copy back",
        ),
    )
    verify_restore = ob.Verify(
        db_action("compare", "--db", "env:DB_URL", "--backup", "{backup}", "--verified-only"),
        env={"DB_URL": "{db}"},
        title="Verify the restored database",
        description="Integrity check and row counts per table equal to the backup's manifest.",
        expect="the database matches the backup",
    )
    reopen_writers = ob.Command(
        ["sh", "-c", "--", "{start_writers_command}"],
        title="Reopen the writers",
        when="start_writers_command",
        irreversible="open writers are the end state a restore aims at",
    )
    announce = ob.Notify(
        "{target_name} restored from {backup} and verified.", title="Announce the restore"
    )
