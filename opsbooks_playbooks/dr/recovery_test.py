"""Scheduled recovery drill: restore the latest backup into scratch, verify, measure."""

from __future__ import annotations

from pathlib import Path

import opsbooks as ob
from opsbooks_playbooks.actions import db
from opsbooks_playbooks.backup import DB_URL_HELP, db_action


class RecoveryTest(ob.Runbook):
    """Rehearse recovery on a schedule: restore the latest backup into scratch and verify.

    Backups that were never restored are hopes. This drill restores the newest
    backup into a scratch target, proves every row the manifest recorded is there,
    and checks the backup is young enough for the recovery-point target. The run's
    timings are the measured recovery time; the backup's age is the recovery point.
    """

    title = "Recovery Test"
    owner = "Platform engineering"
    severity = "routine"
    scope = (
        "The newest backup in one backup directory, restored into a scratch SQLite file "
        "or PostgreSQL database that nobody uses. Never the live database."
    )
    rto = "15m"
    rpo = "1h"
    #: Recovery time: from finding the backup to the verified scratch restore. The
    #: recovery point: the newest backup's age now, from ``record_recovery_point``.
    rto_steps = ("find_backup", "verify_scratch")

    prerequisites = [
        "The scratch target is not used by anything (it is replaced and dropped)",
        "PostgreSQL: the user may create, rename and drop databases on the scratch server",
        "Room for one more copy of the database at the scratch target",
    ]
    verification = [
        "`verify_scratch` printed `matches`",
        "`backup_fresh` passed: the newest backup is younger than `max_backup_age`",
        "The run report shows the measured RTO and RPO within the targets (15m / 1h)",
        "The scratch target was dropped (unless `keep_scratch`)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`restore_scratch` fails with `checksum mismatch`",
            cause="The newest backup was changed or truncated after it was taken.",
            solution="Run backup.verify on it to mark it bad, take a new backup, and "
            "investigate the storage.",
        ),
        ob.Trouble(
            symptom="`backup_fresh` fails: `older than the allowed`",
            cause="Backups stopped running; a real disaster now would exceed the RPO.",
            solution="Fix the backup schedule and run backup.run now.",
        ),
        ob.Trouble(
            symptom="The drill takes longer than the RTO target",
            cause="The database grew; restore time grows with it.",
            solution="Raise the RTO with the service owner, or move to a faster restore "
            "method (streaming replica, PITR).",
        ),
    ]
    recovery = (
        "The drill touches only the scratch target. If it fails mid-way, run "
        "`python -m opsbooks_playbooks.actions.db drop --db SCRATCH` to remove what is left."
    )
    related = ["dr.disaster_recovery", "backup.verify", "backup.run"]
    last_reviewed = "2026-11-28"
    changelog = [ob.Change("2026-11-28", "First version: SQLite and PostgreSQL")]

    class Params(ob.Params):
        service: str = ob.Field(description="Service whose backups are drilled")
        backup_dir: ob.NoOption = ob.Field(description="Backup directory to drill")
        scratch: ob.SecretStr = ob.Field(description=f"Scratch target: {DB_URL_HELP}")
        max_backup_age: ob.NoOption = ob.Field(
            "1h", description="Fail if the newest backup is older"
        )
        keep_scratch: bool = ob.Field(False, description="Keep the scratch target afterwards")

    find_backup = ob.Command(
        db_action("latest", "--dest", "{backup_dir}", "--json"),
        title="Find the newest backup",
        idempotent=True,
        irreversible="read-only check: it changes nothing, so there is nothing to undo",
    )
    restore_scratch = ob.Command(
        db_action(
            "restore", "--backup", "{backup_dir}", "--db", "env:SCRATCH_URL", "--force", "--json"
        ),
        env={"SCRATCH_URL": "{scratch}"},
        title="Restore into the scratch target",
        description="Checks the checksum and restores; prints JSON with `recovery_point` "
        "and `age_seconds`.",
        irreversible="writes only the throwaway scratch target, which drop_scratch removes",
    )
    verify_scratch = ob.Verify(
        db_action("compare", "--db", "env:SCRATCH_URL", "--backup", "{backup_dir}"),
        env={"SCRATCH_URL": "{scratch}"},
        title="Verify the scratch target",
        expect="the scratch target matches the backup",
    )

    @ob.step(
        title="Record the recovery point",
        idempotent=True,
        irreversible="records a measurement of this run; a record is never unwritten",
    )
    def record_recovery_point(self, ctx: ob.StepContext) -> str:
        """Report the backup's recovery point and its age now: the RPO if disaster struck now.

        Prints JSON and a `::metric rpo_seconds=` line the runner records.
        """
        params = self.params
        assert isinstance(params, RecoveryTest.Params)
        return db.recovery_report(db.recovery_record(Path(params.backup_dir)))

    drop_scratch = ob.Command(
        db_action("drop", "--db", "env:SCRATCH_URL"),
        env={"SCRATCH_URL": "{scratch}"},
        title="Drop the scratch target",
        when="not keep_scratch",
        idempotent=True,
        irreversible="removes the throwaway scratch target: the clean-up itself",
    )
    backup_fresh = ob.Verify(
        db_action("age", "--backup", "{backup_dir}", "--max", "{max_backup_age}"),
        title="Check the newest backup meets the recovery point",
        expect="the newest backup is younger than max_backup_age",
    )
    report = ob.Notify(
        "Recovery drill for {service}: newest backup in {backup_dir} restored into scratch "
        "and verified.",
        title="Report the drill",
    )
