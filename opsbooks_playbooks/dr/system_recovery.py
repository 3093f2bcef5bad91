"""Rebuild a host's service from the repository's configuration and the newest backup."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.maintenance import maint_action

BUNDLE = "{work_dir}/{service}-bundle.tgz"
NAME = r"^[a-z][a-z0-9_-]*$"

#: Each of these is safe to run twice in one run: what was there before is moved
#: aside once per run (marked with the run id), so a re-run never overwrites it.
STAGE = (
    "set -e; cd {install_dir}; "
    'if [ "$(cat previous/.run 2>/dev/null)" != {run_id} ]; then rm -rf previous; '
    "mkdir previous; for d in etc bin; do if [ -e $d ]; then mv $d previous/; fi; done; "
    "echo {run_id} > previous/.run; fi; "
    "rm -rf incoming/new; mkdir -p incoming/new; tar -xzf incoming/bundle.tgz -C incoming/new; "
    "for d in etc bin; do rm -rf $d; mv incoming/new/$d $d; done"
)
UNSTAGE = (
    "cd {install_dir} && for d in etc bin; do rm -rf $d; "
    "if [ -e previous/$d ]; then mv previous/$d $d; fi; done; rm -rf previous"
)
RESTORE = (
    "set -e; cd {install_dir}; "
    "printf '%s  %s\\n' {outputs.backup_sha256} incoming/restore.db | sha256sum -c --quiet -; "
    'test "$(sqlite3 incoming/restore.db "PRAGMA integrity_check")" = ok; mkdir -p data; '
    'if [ "$(cat data/.pre-restore.run 2>/dev/null)" != {run_id} ]; then '
    "rm -f data/service.db.pre-restore; "
    "if [ -e data/service.db ]; then mv data/service.db data/service.db.pre-restore; fi; "
    "echo {run_id} > data/.pre-restore.run; fi; "
    "mv incoming/restore.db data/service.db"
)
UNRESTORE = (
    "cd {install_dir} && rm -f data/service.db data/.pre-restore.run && "
    "if [ -e data/service.db.pre-restore ]; then "
    "mv data/service.db.pre-restore data/service.db; fi"
)
STOP = (
    "cd {install_dir} && if [ -f run/service.pid ] && kill -0 $(cat run/service.pid) 2>/dev/null; "
    "then kill $(cat run/service.pid); "
    "for i in $(seq 1 50); do [ -f run/service.pid ] || break; sleep 0.1; done; "
    "if [ -f run/service.pid ]; then echo the service did not stop within 5s >&2; exit 1; fi; "
    "fi; rm -f run/service.pid"
)
START = (
    STOP + "; mkdir -p run log && "
    "nohup python3 bin/tinyservice.py serve --config etc/service.conf --data data/service.db "
    "--pidfile run/service.pid >> log/service.log 2>&1 < /dev/null & "
    "for i in $(seq 1 100); do "
    "curl -fsS -o /dev/null http://127.0.0.1:{port}/health && exit 0; sleep 0.1; done; "
    "echo no answer on port {port} within 10s, see log/service.log >&2; exit 1"
)


class SystemRecovery(ob.Runbook):
    """Rebuild a service on a host from its configuration in the repository and its backup.

    Use it when a host lost its service (disk replaced, host rebuilt from the base
    image, configuration drifted beyond repair). Over SSH it checks the host, lays down
    the service's configuration and program from the repository (`config_dir`),
    restores the data from the newest verified backup, starts the service and proves
    it healthy and holding the backup's rows. The declaration gate starts the
    recovery-time clock; it stops when the data is verified (RTO), and the recovery
    point is the backup's age (RPO).
    """

    title = "System Recovery"
    owner = "Platform engineering"
    severity = "critical"
    scope = (
        "One service on one host of the inventory: a SQLite-backed HTTP service "
        "(`tinyservice.py`) with its `service.conf`, data restored from `backup.run` "
        "backups. Writes after the newest verified backup are lost (the RPO)."
    )
    rto = "30m"
    rpo = "24h"
    rto_steps = ("declare", "verify_data")
    prerequisites = [
        "The host is in the inventory and reachable over SSH (its key in known_hosts)",
        "python3, sqlite3 and curl are installed on the host",
        "`backup_dir` holds a verified backup of the service's data (backup.verify)",
        "`config_dir` is the service's configuration in the repository (service.conf)",
    ]
    verification = [
        "`verify_data` passed: /health answers ok with every table's row count = the backup's",
        "The run report shows the measured RTO and RPO against the targets (30m / 24h)",
        "The service's clients are pointed back at the host (load balancer, DNS)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`check_host` fails",
            cause="A tool is missing, the install folder is not writable or the port is taken.",
            solution="On the host: `command -v python3 sqlite3 curl`, `ls -ld INSTALL_DIR`, "
            "`ss -ltnp 'sport = :PORT'` to see who holds the port; fix, then resume.",
        ),
        ob.Trouble(
            symptom="`restore_data` fails: `sha256sum: WARNING: 1 computed checksum did NOT match`",
            cause="The upload was damaged or the backup changed after it was verified.",
            solution="Run backup.verify on the backup; resume to upload it again.",
        ),
        ob.Trouble(
            symptom="`start_service` fails: `did not answer on port`",
            cause="The service could not start (bad service.conf, port taken, data missing).",
            solution="Read `INSTALL_DIR/log/service.log` on the host; fix the config in the "
            "repository and resume.",
        ),
        ob.Trouble(
            symptom="`verify_data` fails: `N rows, backup has M`",
            cause="The service opened another data file, or something wrote to it.",
            solution="Check the service's --data in `ps -ef | grep tinyservice`; resume to "
            "restore again.",
        ),
    ]
    recovery = (
        "On failure the run rolls back in reverse: the service is stopped, the data file "
        "before the restore is put back (`data/service.db.pre-restore`), and the previous "
        "`etc/` and `bin/` return from `previous/`. A host rebuilt from nothing returns "
        "to empty. Fix the cause and run again, or resume the failed run."
    )
    related = ["dr.disaster_recovery", "backup.verify", "backup.restore"]
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [ob.Change("2026-12-02", "First version: SQLite-backed service over SSH")]

    class Params(ob.Params):
        service: str = ob.Field(pattern=NAME, description="Service to rebuild; typed to declare")
        host: str = ob.Field(pattern=NAME, description="Inventory host to rebuild it on")
        install_dir: ob.NoOption = ob.Field(
            pattern=r"^/[A-Za-z0-9_./-]*$", description="Absolute folder on the host"
        )
        port: int = ob.Field(ge=1, le=65535, description="Port the service listens on")
        config_dir: ob.NoOption = ob.Field(
            description="The service's configuration folder in the repository (service.conf)"
        )
        backup_dir: ob.NoOption = ob.Field(description="Backup directory of the service's data")
        work_dir: ob.NoOption = ob.Field(
            ".opsbooks/system-recovery", description="Local folder for the upload bundle"
        )

    declare = ob.Gate.confirm(
        "Rebuild {service} on {host} from the repository's configuration and the newest "
        "verified backup in {backup_dir}? Your name and the time start the recovery clock.",
        phrase="{service}",
        title="Declare the rebuild",
        description=(
            "Confirm the host is the one to rebuild (not a healthy peer), that its current "
            "data is lost or not to be kept, and that clients are drained from it."
        ),
    )
    check_config = ob.Verify(
        ["grep", "-qx", "PORT={port}", "--", "{config_dir}/service.conf"],
        title="Check the configuration",
        description="The repository's service.conf names the port this run will check.",
        expect="service.conf says PORT={port}",
    )
    check_host = ob.RemoteVerify(
        "command -v python3 && command -v sqlite3 && command -v curl && "
        "mkdir -p {install_dir}/incoming && test -w {install_dir} && "
        "df -P {install_dir} | awk 'NR == 2 && $4 > 10240 {{ ok = 1 }} END {{ exit !ok }}' && "
        "{{ ! ss -ltnH sport = :{port} | grep -q . || "
        "kill -0 $(cat {install_dir}/run/service.pid 2>/dev/null || echo none) 2>/dev/null; }}",
        hosts="{host}",
        title="Check the host",
        description="Tools present, install folder writable, more than 10 MiB free, and "
        "the port free or held by this service's own process (its pid file).",
        expect="the host can take the service",
        idempotent=True,
    )
    find_backup = ob.Command(
        maint_action("sysrec-backup", "--dest", "{backup_dir}"),
        outputs=("backup_file", "backup_sha256", "backup_tables"),
        title="Find the newest verified backup",
        description="Checks its checksum; prints its recovery point and `::metric rpo_seconds=`.",
        idempotent=True,
        irreversible="read-only choice",
    )
    bundle = ob.Command(
        maint_action("sysrec-bundle", "--config-dir", "{config_dir}", "--out", BUNDLE),
        title="Pack the configuration",
        description="`etc/` from `config_dir` and `bin/tinyservice.py` in one tarball.",
        idempotent=True,
        irreversible="writes a local bundle only; the next run overwrites it",
    )
    upload_bundle = ob.Upload(
        BUNDLE,
        "{install_dir}/incoming/bundle.tgz",
        hosts="{host}",
        title="Upload the configuration",
        idempotent=True,
        irreversible="lands in the host's incoming/ folder; `stage_config` installs it",
    )
    stage_config = ob.Remote(
        STAGE,
        hosts="{host}",
        title="Lay down the configuration",
        description="Unpacks etc/ and bin/; the ones there before move to previous/.",
        undo=ob.Remote(UNSTAGE, hosts="{host}", title="Put the previous configuration back"),
        idempotent=True,
    )
    upload_backup = ob.Upload(
        "{outputs.backup_file}",
        "{install_dir}/incoming/restore.db",
        hosts="{host}",
        title="Upload the backup",
        idempotent=True,
        irreversible="lands in the host's incoming/ folder; `restore_data` installs it",
    )
    restore_data = ob.Remote(
        RESTORE,
        hosts="{host}",
        title="Restore the data",
        description="sha256sum against the manifest, PRAGMA integrity_check, then the "
        "swap; the file there before is kept as data/service.db.pre-restore.",
        undo=ob.Remote(UNRESTORE, hosts="{host}", title="Put the previous data back"),
        idempotent=True,
    )
    start_service = ob.Remote(
        START,
        hosts="{host}",
        title="Start the service",
        description="Stops a running copy (pid file), starts it with nohup and waits up to "
        "10s for /health to answer.",
        undo=ob.Remote(STOP, hosts="{host}", title="Stop the service"),
        idempotent=True,
    )
    verify_data = ob.RemoteVerify(
        "python3 {install_dir}/bin/tinyservice.py check --url http://127.0.0.1:{port}/health "
        "--expect {outputs.backup_tables}",
        hosts="{host}",
        title="Verify health and data",
        description="/health answers ok and every table holds the backup's row count; "
        "the recovery-time clock stops here.",
        expect="the service serves the backup's data",
        idempotent=True,
    )
    announce = ob.Notify(
        "SYSTEM RECOVERY: {service} rebuilt on {host} from the repository's configuration "
        "and the newest verified backup in {backup_dir}; healthy, data verified.",
        title="Announce the rebuild",
    )
