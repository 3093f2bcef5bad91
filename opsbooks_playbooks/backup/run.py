"""Take a database backup: check the source, back up with a manifest, verify, announce."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.backup import DB_URL_HELP, URLS_ENV, db_action


class BackupRun(ob.Runbook):
    """Take a verified backup of one database and keep a fixed number of generations.

    A backup that was never restored is a hope, not a backup: this procedure restores
    every new backup into a scratch database and compares its row counts with the
    manifest before it reports success. Run it on a schedule and by hand before risky
    changes (migrations, upgrades).
    """

    title = "Database Backup"
    owner = "Platform engineering"
    severity = "routine"
    scope = (
        "One SQLite database file or one PostgreSQL database, backed up into a local or "
        "mounted backup directory. One database per backup directory. Not for "
        "point-in-time recovery (WAL archiving) or whole-cluster backups."
    )
    prerequisites = [
        "The source database is reachable from this machine",
        "The backup directory exists or can be created, with room for `keep` + 1 backups",
        "PostgreSQL: `pg_dump`, `pg_restore` and `psql` of the server's major version or "
        "newer; the user may create a scratch database on the verification server",
    ]
    verification = [
        "The step output names the new backup file and its manifest sits beside it",
        "`verify_backup` reported `checksum ok` and `row counts match`",
        "`python -m opsbooks_playbooks.actions.db latest --dest <dest> --verified-only` prints "
        "the new backup",
        "No more than `keep` backups of this source remain in the directory",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`check_source` fails: `database file ... does not exist`",
            cause="The SQLite path in `db` is wrong, or the volume is not mounted.",
            solution="Fix the URL (`sqlite:///abs/path.db`, an absolute path) and rerun.",
        ),
        ob.Trouble(
            symptom="`check_source` fails: `server ... is not responding (pg_isready exit 2)`",
            cause="PostgreSQL is down, or host/port in `db` are wrong, or a firewall.",
            solution="Check `pg_isready -h HOST -p PORT`; start the server or fix the URL.",
        ),
        ob.Trouble(
            symptom="`take_backup` fails with `No space left on device`",
            cause="The backup directory is full; no backup was recorded and no partial "
            "file is left looking valid.",
            solution="Free space or lower `keep`, then rerun the runbook.",
        ),
        ob.Trouble(
            symptom="`verify_backup` fails: `restores with different row counts`",
            cause="The dump is incomplete or the scratch restore failed part way.",
            solution="Keep the file for analysis, run the backup again, and escalate to L2 "
            "if the second one fails too. Do not restore from the failed backup.",
        ),
        ob.Trouble(
            symptom="`verify_backup` fails: `permission denied to create database`",
            cause="The PostgreSQL user may not create the scratch database.",
            solution="Set `scratch_server` to a server where the user has CREATEDB.",
        ),
    ]
    recovery = (
        "Nothing here changes the source database, so there is nothing to roll back. A "
        "failed run leaves either no new backup or a backup whose manifest records "
        "`verify_error`, which `latest --verified-only` skips. Rerun after fixing the cause."
    )
    related = ["backup.verify", "backup.restore", "dr.recovery_test"]
    last_reviewed = "2026-11-28"
    changelog = [ob.Change("2026-11-28", "First version: SQLite and PostgreSQL")]

    class Params(ob.Params):
        db: ob.SecretStr = ob.Field(description=f"Database to back up: {DB_URL_HELP}")
        dest: ob.NoOption = ob.Field(description="Backup directory (one database per directory)")
        keep: int = ob.Field(7, ge=1, description="Generations of this source to keep")
        source_name: str = ob.Field("database", description="Name used in the announcement")
        watermark_sql: str = ob.Field(
            "",
            description="Query whose answer is the newest write, e.g. "
            "`select max(updated_at) from orders`; recorded as the recovery point",
        )
        scratch_server: ob.SecretStr = ob.Field(
            ob.SecretStr(""),
            description="PostgreSQL server for the scratch restore (empty: the source's)",
        )

    check_source = ob.Verify(
        db_action("check", "--db", "env:DB_URL"),
        env={"DB_URL": "{db}"},
        title="Check the source database",
        description="SQLite: the file opens and passes `PRAGMA integrity_check`. "
        "PostgreSQL: `pg_isready` and `SELECT 1`. Backing up a damaged database "
        "would only copy the damage.",
        expect="the database is reachable and sound",
    )
    take_backup = ob.Command(
        db_action(
            "backup",
            "--db",
            "env:DB_URL",
            "--dest",
            "{dest}",
            "--keep",
            "{keep}",
            "--watermark-sql={watermark_sql}",
        ),
        env={"DB_URL": "{db}"},
        title="Take the backup",
        description="SQLite's online backup API or `pg_dump -Fc`; the manifest (sha256, "
        "size, row counts per table, time) is written last, then older generations "
        "beyond `keep` are deleted.",
        retry=ob.Retry(attempts=2, wait=30),
        irreversible="a backup generation is kept by the retention rule, not a rollback",
    )
    verify_backup = ob.Verify(
        db_action(
            "verify", "--backup", "{dest}", "--server", "env:SCRATCH_URL", "--server", "env:DB_URL"
        ),
        env=URLS_ENV,
        title="Verify the new backup",
        description="Checksum against the manifest, restore into a scratch database, "
        "integrity check, row counts compared with the manifest. Records `verified_at`.",
        expect="checksum ok and row counts match",
    )
    announce = ob.Notify(
        "Backup of {source_name} written to {dest} and verified; keeping {keep} generations.",
        title="Announce the backup",
    )
