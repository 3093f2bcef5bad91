"""The files ``opsbooks init`` writes, as text: an example catalog, its drill, tasks.py, CI.

``__PACKAGE__`` in a text is replaced by the catalog package's name. The example runbook
follows the house template, so ``opsbooks lint`` reports no error on a fresh project, and
its drill runs it for real (real ``find`` and ``df`` on log files the test makes old).
"""

from __future__ import annotations

PACKAGE_INIT = '''"""The team's runbooks: a subpackage per category, ``<category>/<name>.py``.

``opsbooks list`` shows them, ``opsbooks run CATEGORY.NAME`` runs one, ``opsbooks docs``
writes their pages.
"""
'''

CATEGORY_INIT = '''"""Operations runbooks: routine care of the hosts and services the team runs."""
'''

EXAMPLE_RUNBOOK = r'''"""Free disk space by deleting rotated logs older than a retention window."""

from __future__ import annotations

import opsbooks as ob

_OLD_LOGS = ["{log_dir}", "-type", "f", "-name", "{pattern}", "-mtime", "+{days}"]


class CleanLogs(ob.Runbook):
    """Delete rotated, compressed logs older than the retention window from a directory.

    Use it when a disk holding logs passes its usage alert, or as routine care before it
    does. It shows the disk's usage, lists what would go, asks a person to confirm that
    nothing on the list is still needed (an open incident, a legal hold), deletes only
    those files and checks none is left.
    """

    title = "Clean Up Old Rotated Logs"
    owner = "Operations"
    scope = (
        "One log directory on this host; only rotated files matching the pattern "
        "(`*.gz` by default), never the live logs a service writes to."
    )
    prerequisites = (
        "Write access to the log directory (run as the service user or with sudo)",
        "The retention the team agreed for these logs (default: 14 days)",
        "No open incident or legal hold that needs the old logs",
    )
    verification = (
        "No matching file older than the retention is left (step `none_left`)",
        "`df -Pk` on the directory shows the space back (step `usage_after`)",
    )
    troubleshooting = (
        ob.Trouble(
            symptom="`delete` fails: `find: cannot delete ...: Permission denied`",
            cause="The run's user cannot write to the log directory.",
            solution="Run again as the service user (or with sudo) and resume the run.",
        ),
        ob.Trouble(
            symptom="Usage is still high after the clean-up",
            cause="Live logs, not rotated ones, fill the disk (`du -sh {log_dir}/*`).",
            solution="Check logrotate's configuration and frequency; escalate to L2.",
        ),
    )
    recovery = (
        "Deleted logs cannot be brought back from this host: restore them from the log "
        "archive or backup if they are needed. The `candidates` step's output lists "
        "every file that was deleted."
    )
    related = ()
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [ob.Change("2026-12-02", "Written by `opsbooks init`")]  # noqa: RUF012

    class Params(ob.Params):
        log_dir: ob.NoOption = ob.Field(description="Log directory, e.g. /var/log/app")
        days: int = ob.Field(14, ge=1, le=3650, description="Keep logs younger than it")
        pattern: str = ob.Field(
            "*.gz",
            pattern=r"^[A-Za-z0-9*?._][A-Za-z0-9*?._-]*$",
            description="File name glob of rotated logs, e.g. *.gz or app.log.*",
        )

    usage_before = ob.Command(
        ["df", "-Pk", "--", "{log_dir}"],
        title="Show the disk usage of the log directory",
        irreversible="read-only: shows the filesystem's usage",
    )
    candidates = ob.Command(
        ["find", *_OLD_LOGS, "-print"],
        title="List the rotated logs older than the retention",
        irreversible="read-only: lists files",
    )
    confirm = ob.Gate.confirm(
        "Delete the files listed above from {log_dir}?",
        title="Confirm the deletion",
        description=(
            "Read the list from `candidates`: every file is a rotated log of {log_dir} "
            "older than {days} days, none is a live log, and no open incident or legal "
            "hold needs one. Decline if in doubt."
        ),
    )
    delete = ob.Command(
        ["find", *_OLD_LOGS, "-print", "-delete"],
        title="Delete them",
        irreversible="deleted files are gone; restore from the log archive if needed",
    )
    none_left = ob.Verify(
        "find {log_dir} -type f -name {pattern} -mtime +{days} -print | (! grep .)",
        title="Check that no old rotated log is left",
        expect="no file matching {pattern} older than {days} days in {log_dir}",
    )
    usage_after = ob.Command(
        ["df", "-Pk", "--", "{log_dir}"],
        title="Show the disk usage again",
        irreversible="read-only: shows the filesystem's usage",
    )
'''

EXAMPLE_TEST = r'''"""Drills of the catalog's runbooks: each runs for real, with scripted answers.

Written by `opsbooks init`; the `drill` fixture comes from the opsbooks pytest plugin
(see the opsbooks guide "Testing runbooks and DR drills with pytest").
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import pytest
from opsbooks.testing import Drill

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the catalog package lives at the project root
    sys.path.insert(0, str(ROOT))

DAY = 24 * 3600


@pytest.fixture
def catalog(drill: Drill) -> Drill:
    """The plugin's `drill` (fresh root, journal, fake clock) on this catalog only."""
    return dataclasses.replace(drill, packages=("__PACKAGE__",))


def _logs(tmp_path: Path) -> tuple[Path, Path, Path]:
    logs = tmp_path / "logs"
    logs.mkdir()
    old, recent, live = logs / "app.log.1.gz", logs / "app.log.2.gz", logs / "app.log"
    for path in (old, recent, live):
        path.write_bytes(b"x" * 4096)
    month_ago = time.time() - 30 * DAY
    os.utime(old, (month_ago, month_ago))
    os.utime(live, (month_ago, month_ago))
    return old, recent, live


def test_clean_logs_deletes_only_old_rotated_logs(
    catalog: Drill, tmp_path: Path
) -> None:
    old, recent, live = _logs(tmp_path)
    params = {"log_dir": str(old.parent)}
    result = catalog.run("ops.clean_logs", params, answers={"confirm": True})
    result.assert_succeeded()
    assert not old.exists()
    assert recent.exists() and live.exists()
    assert str(old) in result.output


def test_declining_the_gate_deletes_nothing(catalog: Drill, tmp_path: Path) -> None:
    old, _, _ = _logs(tmp_path)
    params = {"log_dir": str(old.parent)}
    result = catalog.run("ops.clean_logs", params, answers={"confirm": False})
    assert result.outcome != "succeeded"
    result.assert_not_ran("delete")
    assert old.exists()
'''

TASKS = '''"""invoke tasks for every runbook: `invoke --list`, `invoke ops.clean-logs`."""

from opsbooks.tasks import collection

ns = collection()
'''

#: Appended to a tasks.py that defines ``ns = Collection(...)``: the catalog as a sub-namespace.
TASKS_EXTENSION = """
# The runbook catalog as invoke tasks (`invoke --list`), added by `opsbooks init`.
from opsbooks.tasks import collection as _opsbooks_collection  # noqa: E402

ns.add_collection(_opsbooks_collection(), name="__PACKAGE__")
"""

CI_WORKFLOW = """name: runbooks

on:
  push:
  pull_request:

jobs:
  runbooks:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: python -m pip install opsbooks pytest invoke
      - name: Lint the runbooks (house template, gates, undo, argv)
        run: opsbooks lint
      - name: The generated pages match the runbooks
        run: opsbooks docs --check
      - name: Drill the runbooks
        run: python -m pytest -p no:cacheprovider tests/test_runbooks.py
"""


def config_text(package: str, prefix: str) -> str:
    """The configuration: ``opsbooks.toml`` (``prefix=""``) or pyproject's ``tool.opsbooks.``."""
    head = f"[{prefix.rstrip('.')}]\n" if prefix else ""
    return (
        f"{head}"
        f'packages = ["{package}"]\n'
        'docs_dir = "docs/runbooks"\n'
        "\n"
        "# Who to call, rendered in every page's Contacts section: replace with your rotations.\n"
        f"[{prefix}contacts]\n"
        'L1 = "Operations on-call: your chat channel and pager rotation"\n'
        'L2 = "Platform on-call: your chat channel"\n'
        'L3 = "The owning team\'s engineering lead, via the incident commander"\n'
    )
