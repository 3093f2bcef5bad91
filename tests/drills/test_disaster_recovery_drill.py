"""Scripted disaster-recovery drills through the public harness, on SQLite and PostgreSQL.

Each drill writes known rows with fixed timestamps, takes a backup with the real
``backup.run`` (watermark query, so the manifest records the last write), writes more,
destroys the database, runs the real ``dr.disaster_recovery`` with scripted gate
answers, and checks the data, the measured RTO/RPO, the endpoint and the audit chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from drill_kit import Engine, Row

from opsbooks.records import audit
from opsbooks.testing import Drill, DrillResult
from opsbooks_playbooks.actions import db

SERVICE = "shop"
BASE = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
STEPS = (
    "declare",
    "find_backup",
    "restore_standby",
    "verify_standby",
    "record_recovery_point",
    "switch_endpoint",
    "announce",
)


def at(minute: int) -> str:
    return (BASE + dt.timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


def events(ids: range) -> list[Row]:
    """Event ``k`` is written at BASE + k minutes."""
    return [(k, f"event-{k}", at(k)) for k in ids]


BEFORE = events(range(1, 11))  # in the backup; newest written at 09:10:00Z
AFTER = events(range(11, 16))  # written after the backup, lost; newest at 09:15:00Z
LOST_WINDOW = (
    dt.datetime.fromisoformat(AFTER[-1][2]) - dt.datetime.fromisoformat(BEFORE[-1][2])
).total_seconds()


@dataclass
class Disaster:
    """A service whose primary is gone, with one verified backup taken before the loss."""

    primary: str
    backup_dir: Path
    endpoint: Path
    endpoint_text: str
    standby: str

    def params(self, **extra: Any) -> dict[str, Any]:
        return {
            "service": SERVICE,
            "backup_dir": str(self.backup_dir),
            "standby": self.standby,
            "endpoint_config": str(self.endpoint),
            "endpoint_key": "DATABASE_URL",
            "last_write_at": AFTER[-1][2],
            **extra,
        }


def lose_primary(
    drill: Drill, engine: Engine, tmp_path: Path, *, backup_runbook: bool = True
) -> Disaster:
    """Write, back up (verified), write more, then destroy the primary.

    The backup is taken by the ``backup.run`` runbook through the harness, or (for the
    rehearsals, to keep them quick) by the same actions' function API.
    """
    primary = engine.create("shop")
    engine.write(primary, BEFORE)
    backup_dir = tmp_path / "backups"
    if backup_runbook:
        taken = drill.run(
            "backup.run",
            {
                "db": primary,
                "dest": str(backup_dir),
                "source_name": SERVICE,
                "watermark_sql": engine.watermark_sql,
            },
        )
        taken.assert_succeeded()
    else:
        path, _, _ = db.backup(primary, backup_dir, watermark_sql=engine.watermark_sql)
        db.verify(path)
    _, manifest = db.latest(backup_dir, verified_only=True)
    assert manifest.last_write_at == BEFORE[-1][2]
    assert manifest.tables == {engine.events_table: len(BEFORE)}

    engine.write(primary, AFTER)
    assert len(engine.rows(primary)) == len(BEFORE) + len(AFTER)
    endpoint = tmp_path / "shop.env"
    endpoint_text = f"DATABASE_URL={primary}\nWORKERS=4\n"
    endpoint.write_text(endpoint_text)

    engine.destroy(primary)
    assert not engine.exists(primary)
    return Disaster(primary, backup_dir, endpoint, endpoint_text, engine.url("standby"))


def assert_audit_intact(drill: Drill, result: DrillResult) -> None:
    """The run's hash-chained audit file verifies up to the head the journal recorded."""
    journal = drill.journal()
    try:
        record = journal.get_run(result.run_id)
    finally:
        journal.close()
    assert record.outcome == result.outcome
    assert record.audit_head, "the journal recorded no audit head"
    check = audit.verify(
        drill.root / ".opsbooks" / "runs" / f"{result.run_id}.jsonl", record.audit_head
    )
    assert check.ok, check.problems
    assert check.lines > 0


@pytest.mark.slow
def test_disaster_recovery_loses_only_the_writes_after_the_backup(
    drill: Drill, engine: Engine, tmp_path: Path, record_figures: Any
) -> None:
    disaster = lose_primary(drill, engine, tmp_path)

    result = drill.run("dr.disaster_recovery", disaster.params(), answers={"declare": SERVICE})
    record_figures("dr.disaster_recovery", engine.name, result)

    result.assert_succeeded()
    for step in STEPS:
        result.assert_succeeded_step(step)
    assert [(g.step_id, g.approver) for g in result.gates] == [("declare", "drill")]

    # every row up to the backup is on the standby; the later writes are the loss
    restored = engine.rows(disaster.standby)
    assert restored == BEFORE
    assert {row[0] for row in AFTER}.isdisjoint(row[0] for row in restored)

    # RPO: exactly the window between the backup's last write and the last write
    assert LOST_WINDOW == 300.0
    assert result.rpo == LOST_WINDOW
    assert result.metrics["rpo_met"] is True
    assert result.rto is not None and result.rto > 0
    assert result.metrics["rto_met"] is True

    # the service now points at the standby, its other settings kept
    assert disaster.endpoint.read_text() == f"DATABASE_URL={disaster.standby}\nWORKERS=4\n"
    assert_audit_intact(drill, result)


@pytest.mark.slow
def test_failed_switch_rolls_the_standby_back(drill: Drill, engine: Engine, tmp_path: Path) -> None:
    disaster = lose_primary(drill, engine, tmp_path, backup_runbook=False)
    standby = engine.create("standby")  # the standby holds something before the drill
    before = [(900, "standby-before", at(-60))]
    engine.write(standby, before)

    result = drill.run(
        "dr.disaster_recovery",
        disaster.params(),
        answers={"declare": SERVICE},
        fail={"switch_endpoint": "rehearsal: the endpoint file is on a read-only volume"},
    )

    assert result.outcome == "rolled_back" and result.exit_code == 1
    assert "injected failure" in (result.report.reason or "")
    result.assert_compensated("restore_standby")
    result.assert_not_ran("announce")
    assert engine.rows(standby) == before
    assert disaster.endpoint.read_text() == disaster.endpoint_text
    assert not disaster.endpoint.with_name("shop.env.previous").exists()
    assert_audit_intact(drill, result)


@pytest.mark.slow
def test_failed_switch_leaves_a_new_standby_empty_again(
    drill: Drill, engine: Engine, tmp_path: Path
) -> None:
    """A standby that did not exist before the drill does not exist after its rollback."""
    disaster = lose_primary(drill, engine, tmp_path, backup_runbook=False)
    assert not engine.exists(disaster.standby)

    result = drill.run(
        "dr.disaster_recovery",
        disaster.params(),
        answers={"declare": SERVICE},
        fail={"switch_endpoint": "rehearsal: the endpoint file is on a read-only volume"},
    )

    assert result.outcome == "rolled_back", result.output
    result.assert_compensated("restore_standby")
    assert "the restore created it" in result.output
    assert not engine.exists(disaster.standby)
    assert disaster.endpoint.read_text() == disaster.endpoint_text
    assert_audit_intact(drill, result)


def test_declined_declaration_restores_nothing(
    drill: Drill, engine: Engine, tmp_path: Path
) -> None:
    disaster = lose_primary(drill, engine, tmp_path, backup_runbook=False)

    result = drill.run("dr.disaster_recovery", disaster.params(), answers={"declare": False})

    assert result.outcome == "stopped" and result.exit_code == 3
    for step in STEPS[1:]:
        result.assert_not_ran(step)
    assert result.rto is None and result.rpo is None
    assert not engine.exists(disaster.standby)
    assert disaster.endpoint.read_text() == disaster.endpoint_text
    assert_audit_intact(drill, result)
