"""Verify a backup: checksum, scratch restore, integrity, row counts, freshness."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.backup import db_action


class BackupVerify(ob.Runbook):
    """Prove that a backup restores: the file is intact and holds the rows it should.

    Run it on any backup before trusting it, after copying backups between sites, and
    on a schedule for the newest backup. A success records `verified_at` in the
    manifest; a failure records `verify_error`, and restores that ask for verified
    backups skip it.
    """

    title = "Backup Verification"
    owner = "Platform engineering"
    severity = "routine"
    scope = (
        "One backup file made by `backup.run` (or the newest in a backup directory), "
        "SQLite or PostgreSQL. It never touches the live database."
    )
    prerequisites = [
        "The backup file and its `.manifest.json` are readable",
        "SQLite: free space in the temp dir for one copy of the database",
        "PostgreSQL: a server where the user may create and drop a scratch database",
    ]
    verification = [
        "`verify` printed `checksum ok` and `row counts match`",
        "The manifest's `verified_at` is set and `verify_error` is null",
        "`check_age` passed: the backup is newer than `max_age`",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`checksum mismatch` or `is N bytes but its manifest says M`",
            cause="The file was truncated or changed after the backup (bad copy, disk "
            "error, tampering).",
            solution="Do not restore from it. Copy it again from the origin site, or take "
            "a new backup with backup.run. Keep the bad file for analysis.",
        ),
        ob.Trouble(
            symptom="`has no manifest`",
            cause="The backup run died before it finished, or only the data file was copied.",
            solution="Treat the file as incomplete; copy the manifest too or take a new backup.",
        ),
        ob.Trouble(
            symptom="`integrity check of ... failed` (SQLite)",
            cause="The source was already damaged when the backup was taken.",
            solution="Find the newest backup that verifies and escalate to L2: the live "
            "database needs attention too.",
        ),
        ob.Trouble(
            symptom="`check_age` fails: `older than the allowed`",
            cause="Scheduled backups stopped running.",
            solution="Check the backup schedule and run backup.run now.",
        ),
    ]
    recovery = (
        "Verification only reads the backup and writes a scratch database that it drops "
        "afterwards; there is nothing to roll back. If a PostgreSQL run is killed mid-way, "
        "drop any leftover `opsbooks_verify_*` database by hand."
    )
    related = ["backup.run", "backup.restore", "dr.recovery_test"]
    last_reviewed = "2026-11-28"
    changelog = [ob.Change("2026-11-28", "First version: SQLite and PostgreSQL")]

    class Params(ob.Params):
        backup: ob.NoOption = ob.Field(
            description="Backup file, or a backup directory to verify its newest backup"
        )
        scratch_server: ob.SecretStr = ob.Field(
            ob.SecretStr(""),
            description="PostgreSQL server for the scratch restore (empty: the backup's source)",
        )
        max_age: ob.NoOption = ob.Field(
            "1d", description="Fail if the backup is older, e.g. 1h, 1d"
        )

    verify = ob.Verify(
        db_action("verify", "--backup", "{backup}", "--server", "env:SCRATCH_URL"),
        env={"SCRATCH_URL": "{scratch_server}"},
        title="Verify the backup",
        description="Checksum against the manifest, restore into a scratch database, "
        "integrity check, row counts compared with the manifest.",
        expect="checksum ok and row counts match",
    )
    check_age = ob.Verify(
        db_action("age", "--backup", "{backup}", "--max", "{max_age}"),
        title="Check the backup is recent",
        expect="the backup is younger than max_age",
    )
    announce = ob.Notify("Backup {backup} verified.", title="Announce the result")
