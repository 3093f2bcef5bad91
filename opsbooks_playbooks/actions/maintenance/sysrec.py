"""What ``dr.system_recovery`` prepares on this machine: the backup to ship, and the bundle.

``backup`` picks the newest verified SQLite backup and prints what the host steps
need as outputs (file, sha256, row counts) and the ``::metric rpo_seconds=`` line.
``bundle`` packs the service's configuration folder (``etc/``) and its program
(``bin/tinyservice.py``) into one tarball to upload.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from opsbooks_playbooks.actions import db
from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError, check_file
from opsbooks_playbooks.actions.maintenance.recover import pick

PROGRAM = Path(__file__).with_name("tinyservice.py")


def backup(dest: Path) -> str:
    """The newest verified backup in ``dest``, checked, as outputs and the RPO metric."""
    path, manifest = pick(dest)
    if manifest.engine != "sqlite":
        raise DbUsageError(
            f"{path.name} is a {manifest.engine} backup; system recovery restores the "
            "service's SQLite data file (use dr.disaster_recovery for a database server)"
        )
    check_file(path, manifest)
    record = db.recovery_record(path, verified_only=True)
    return "\n".join(
        [
            f"newest verified backup {path} taken {manifest.created_at}",
            f"::output backup_file={path}",
            f"::output backup_sha256={manifest.sha256}",
            f"::output backup_tables={json.dumps(manifest.tables, sort_keys=True)}",
            db.recovery_report(record),
        ]
    )


def bundle(config_dir: Path, out: Path) -> str:
    """``etc/`` = the config folder, ``bin/tinyservice.py`` = the program, as a .tgz."""
    if not (config_dir / "service.conf").is_file():
        raise DbError(
            f"{config_dir} has no service.conf; point --config-dir at the service's "
            "configuration folder in the repository"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        for item in sorted(config_dir.rglob("*")):
            tar.add(item, arcname=f"etc/{item.relative_to(config_dir)}", recursive=False)
        data = PROGRAM.read_bytes()
        info = tarfile.TarInfo("bin/tinyservice.py")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    partial.replace(out)
    files = sum(1 for p in config_dir.rglob("*") if p.is_file())
    return f"bundle {out}: {files} config file(s) under etc/, the program under bin/"
