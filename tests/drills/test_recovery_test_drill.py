"""The scheduled recovery drill (``dr.recovery_test``) through the harness, per engine.

A fresh backup of known rows is restored into a scratch target, verified against
the manifest, measured (RTO from finding the backup to the verified scratch; RPO
the backup's newest write to now) and the scratch target dropped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from drill_kit import Engine, Row

from opsbooks.testing import Drill
from opsbooks_playbooks.actions import db

pytestmark = pytest.mark.slow  # real commands and polls that sleep

#: The newest row is written this long before the drill, so the RPO is at least this.
LAST_WRITE_AGO = 90.0


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def recent_events(count: int) -> list[Row]:
    """``count`` rows a minute apart, the newest LAST_WRITE_AGO seconds ago (whole seconds)."""
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=LAST_WRITE_AGO)
    return [
        (k, f"event-{k}", _iso(newest - dt.timedelta(minutes=count - k)))
        for k in range(1, count + 1)
    ]


def test_recovery_test_restores_verifies_and_drops_the_scratch(
    drill: Drill, engine: Engine, tmp_path: Path, record_figures: Any
) -> None:
    primary = engine.create("shop")
    rows = recent_events(12)
    engine.write(primary, rows)
    backup_dir = tmp_path / "backups"
    drill.run(
        "backup.run",
        {"db": primary, "dest": str(backup_dir), "watermark_sql": engine.watermark_sql},
    ).assert_succeeded()
    _, manifest = db.latest(backup_dir)
    assert manifest.last_write_at is not None
    assert manifest.last_write_at == rows[-1][2]
    scratch = engine.url("scratch")

    result = drill.run(
        "dr.recovery_test", {"service": "shop", "backup_dir": str(backup_dir), "scratch": scratch}
    )
    record_figures("dr.recovery_test", engine.name, result)

    result.assert_succeeded()
    for step in (
        "find_backup",
        "restore_scratch",
        "verify_scratch",
        "record_recovery_point",
        "drop_scratch",
        "backup_fresh",
        "report",
    ):
        result.assert_succeeded_step(step)
    assert "matches" in result.output
    assert not engine.exists(scratch), "the scratch target was not dropped"
    assert engine.rows(primary) == rows, "the drill touched the live database"

    assert result.rto is not None and result.rto > 0 and result.metrics["rto_met"] is True
    # measured to now: at least the time since the last write, and well inside the target
    assert result.rpo is not None and LAST_WRITE_AGO <= result.rpo < LAST_WRITE_AGO + 60
    assert result.metrics["rpo_met"] is True
