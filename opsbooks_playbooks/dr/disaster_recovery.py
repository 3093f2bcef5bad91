"""Disaster recovery: declare, restore the newest verified backup onto the standby, switch."""

from __future__ import annotations

from pathlib import Path

import opsbooks as ob
from opsbooks_playbooks.actions import db
from opsbooks_playbooks.backup import DB_URL_HELP, db_action


class DisasterRecovery(ob.Runbook):
    """Recover a service whose primary database is lost, from its newest verified backup.

    Use it when the primary database cannot be brought back in time (host lost,
    storage destroyed, data corrupted beyond repair). The declaration gate records who
    declared the disaster and when, which starts the recovery-time clock; the run
    restores the newest *verified* backup onto the standby, proves the standby holds
    every row the backup recorded, points the service at the standby and announces it.
    """

    title = "Disaster Recovery"
    owner = "Platform engineering"
    severity = "critical"
    scope = (
        "One service backed by one SQLite or PostgreSQL database, recovered from the "
        "backups in `backup_dir` onto a standby target. Writes made after the newest "
        "verified backup are lost (that loss is the recovery point, RPO)."
    )
    rto = "15m"
    rpo = "1h"
    #: Recovery time: from the declaration to the verified standby. The recovery
    #: point comes from ``record_recovery_point``'s ``::metric rpo_seconds=`` line.
    rto_steps = ("declare", "verify_standby")

    prerequisites = [
        "The incident commander agrees the primary cannot be recovered within the RTO",
        "The standby target is reachable (PostgreSQL server up; SQLite volume mounted)",
        "`backup_dir` holds at least one verified backup (backup.verify)",
        "You may write the service's endpoint config file (`endpoint_config`)",
    ]
    verification = [
        "`verify_standby` printed `matches`: every table holds the backup's row count",
        "`endpoint_config` names the standby; the service was reloaded and serves requests",
        "The run report shows the measured RTO and RPO against the targets (15m / 1h)",
        "The announcement reached the incident channel",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`find_backup` fails: `no verified backup in ...`",
            cause="No backup was ever verified, or the newest verifications failed.",
            solution="Run backup.verify on the newest backups in `backup_dir`, then resume.",
        ),
        ob.Trouble(
            symptom="`restore_standby` fails with `checksum mismatch`",
            cause="The chosen backup was changed after it was verified.",
            solution="Run backup.verify on it (it will record the failure so it is "
            "skipped), then resume: the next newest verified backup is used.",
        ),
        ob.Trouble(
            symptom="`restore_standby` fails: `server ... is not responding`",
            cause="The standby PostgreSQL server is down or unreachable.",
            solution="Start it or fix `standby`; check with `pg_isready`, then resume.",
        ),
        ob.Trouble(
            symptom="The service still talks to the old primary after `switch_endpoint`",
            cause="The service reads its config only at start.",
            solution="Restart or reload the service; check which file it reads.",
        ),
    ]
    recovery = (
        "On failure the run rolls back in reverse: `switch_endpoint` is undone (the "
        "previous endpoint file is put back) and the standby's pre-restore copy is put "
        "back (a standby that was empty before the restore is emptied again). If the "
        "primary is truly gone, fix the cause and resume the run instead of "
        "rolling back. Writes lost between the backup and the disaster may be recoverable "
        "from application logs; record the RPO in the incident report."
    )
    related = ["backup.restore", "backup.verify", "dr.recovery_test"]
    last_reviewed = "2026-11-28"
    changelog = [ob.Change("2026-11-28", "First version: SQLite and PostgreSQL standby")]

    class Params(ob.Params):
        service: str = ob.Field(description="Service being recovered; typed to declare")
        backup_dir: ob.NoOption = ob.Field(description="Backup directory of the lost database")
        standby: ob.SecretStr = ob.Field(description=f"Standby target: {DB_URL_HELP}")
        endpoint_config: ob.NoOption = ob.Field(
            description="File the service reads its database URL from; rewritten atomically"
        )
        endpoint_key: ob.NoOption = ob.Field(
            "",
            description="Only rewrite the `KEY=...` line of the file, e.g. DATABASE_URL "
            "(empty: the whole file is the URL)",
        )
        last_write_at: str = ob.Field(
            "",
            description="When the lost database was last written (ISO 8601, from logs), "
            "to measure the RPO exactly; empty: measured to now, an upper bound",
        )

    declare = ob.Gate.confirm(
        "Declare a disaster for {service}: its primary database is lost and will be "
        "recovered from the newest verified backup in {backup_dir} onto the standby. "
        "Your name and the time are recorded as the declaration.",
        phrase="{service}",
        title="Declare the disaster",
        description=(
            "Confirm with the incident commander that the primary cannot be brought back in "
            "the RTO and that the standby is the target. Declare only then: the clock starts."
        ),
    )
    find_backup = ob.Command(
        db_action("latest", "--dest", "{backup_dir}", "--verified-only", "--json"),
        title="Find the newest verified backup",
        description="Prints the backup file, when it was taken and its recovery point.",
        idempotent=True,
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    restore_standby = ob.Command(
        db_action(
            "restore",
            "--backup",
            "{backup_dir}",
            "--verified-only",
            "--db",
            "env:STANDBY_URL",
            "--force",
            "--json",
        ),
        env={"STANDBY_URL": "{standby}"},
        title="Restore onto the standby",
        description="Checks the checksum, restores the newest verified backup onto the "
        "standby and prints JSON with `recovery_point` and `age_seconds`.",
        undo=ob.Command(
            db_action("undo-restore", "--db", "env:STANDBY_URL"),
            env={"STANDBY_URL": "{standby}"},
            title="Put the standby's previous data back",
        ),
    )
    verify_standby = ob.Verify(
        db_action(
            "compare", "--db", "env:STANDBY_URL", "--backup", "{backup_dir}", "--verified-only"
        ),
        env={"STANDBY_URL": "{standby}"},
        title="Verify the standby",
        description="Integrity check and row counts equal to the backup's manifest; "
        "this is where the recovery-time clock stops.",
        expect="the standby matches the backup",
    )

    @ob.step(
        title="Record the recovery point",
        idempotent=True,
        irreversible="records a measurement of this run; a record is never unwritten",
    )
    def record_recovery_point(self, ctx: ob.StepContext) -> str:
        """Report the restored backup's recovery point and the RPO (data-loss window).

        The RPO runs from the backup's newest data to `last_write_at` when given, else
        to now (an upper bound). Prints JSON and a `::metric rpo_seconds=` line.
        """
        params = self.params
        assert isinstance(params, DisasterRecovery.Params)
        record = db.recovery_record(
            Path(params.backup_dir), verified_only=True, last_write_at=params.last_write_at
        )
        return db.recovery_report(record)

    switch_endpoint = ob.Command(
        db_action(
            "switch",
            "--config",
            "{endpoint_config}",
            "--db",
            "env:STANDBY_URL",
            "--key",
            "{endpoint_key}",
        ),
        env={"STANDBY_URL": "{standby}"},
        title="Point the service at the standby",
        description="Rewrites the endpoint file atomically (mode 0600), keeping the "
        "previous one as `<file>.previous`.",
        undo=ob.Command(
            db_action("switch", "--config", "{endpoint_config}", "--back"),
            title="Point the service back",
        ),
    )
    announce = ob.Notify(
        "DISASTER RECOVERY: {service} now runs on the standby, restored from the newest "
        "verified backup in {backup_dir}. Writes after that backup are lost.",
        title="Announce the recovery",
    )
