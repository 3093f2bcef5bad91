"""Definitions of the backup and DR playbooks: steps, params, quoting, gates, docs."""

from __future__ import annotations

import shlex

import pytest

import opsbooks as ob
from opsbooks.edges.config import Contacts
from opsbooks.edges.discovery import discover
from opsbooks.render.markdown import render_runbook
from opsbooks_playbooks.backup.restore import BackupRestore
from opsbooks_playbooks.backup.run import BackupRun
from opsbooks_playbooks.backup.verify import BackupVerify
from opsbooks_playbooks.dr.disaster_recovery import DisasterRecovery
from opsbooks_playbooks.dr.recovery_test import RecoveryTest

NASTY = "sqlite:///tmp/it's a $(touch pwned) `db`;.db"
ACTION = ["python", "-m", "opsbooks_playbooks.actions.db"]
ALL: list[type[ob.Runbook]] = [
    BackupRun,
    BackupVerify,
    BackupRestore,
    DisasterRecovery,
    RecoveryTest,
]


def argv(planned: ob.PlannedStep) -> list[str]:
    assert planned.command is not None
    return shlex.split(planned.command)


def test_catalog_names() -> None:
    names = discover(["opsbooks_playbooks"]).names()
    for name in (
        "backup.run",
        "backup.verify",
        "backup.restore",
        "dr.disaster_recovery",
        "dr.recovery_test",
    ):
        assert name in names


@pytest.mark.parametrize("runbook", ALL, ids=lambda r: r.name)
def test_every_doc_section_is_filled(runbook: type[ob.Runbook]) -> None:
    assert runbook.purpose() and runbook.scope and runbook.owner
    assert runbook.prerequisites and runbook.verification and runbook.troubleshooting
    assert runbook.recovery and runbook.related and runbook.changelog
    assert runbook.reviewed_on() is not None
    known = {r.name for r in ALL}
    assert set(runbook.related) <= known


@pytest.mark.parametrize("runbook", ALL, ids=lambda r: r.name)
def test_renders_without_params(runbook: type[ob.Runbook]) -> None:
    page = render_runbook(runbook, Contacts())
    for planned in ob.plan(runbook).steps:
        assert planned.id in page
    if runbook.rto:
        assert "15m" in page and "1h" in page


def test_backup_run_steps_and_binding() -> None:
    params = BackupRun.Params(db=NASTY, dest="/srv/my backups", keep=3)
    plan = ob.plan(BackupRun, params)
    assert plan.ids() == ["check_source", "take_backup", "verify_backup", "announce"]
    # the URL (its password) reaches the action in its environment, never its argv
    assert argv(plan.get("check_source")) == [*ACTION, "check", "--db", "env:DB_URL"]
    assert plan.get("check_source").spec.env == {"DB_URL": NASTY}
    assert argv(plan.get("take_backup")) == [
        *ACTION,
        *("backup", "--db", "env:DB_URL", "--dest", "/srv/my backups", "--keep", "3"),
        "--watermark-sql=",
    ]
    assert plan.get("take_backup").spec.env == {"DB_URL": NASTY}
    assert argv(plan.get("verify_backup"))[3:6] == ["verify", "--backup", "/srv/my backups"]
    for planned in plan.steps:
        assert NASTY not in (planned.command or "") and NASTY not in (planned.shown or "")


def test_keep_must_be_positive() -> None:
    with pytest.raises(ValueError):
        BackupRun.Params(db="sqlite:///a.db", dest="/b", keep=0)


def test_restore_gate_wants_the_target_name_and_shows_age_first() -> None:
    params = BackupRestore.Params(backup="/srv/bk", db="sqlite:///a.db", target_name="orders-db")
    plan = ob.plan(BackupRestore, params)
    assert plan.ids() == [
        "check_backup",
        "backup_age",
        "approve",
        "stop_writers",
        "restore",
        "verify_restore",
        "reopen_writers",
        "announce",
    ]
    gate = BackupRestore.step("approve")
    assert isinstance(gate, ob.Gate) and gate.mode == "confirm" and gate.phrase == "{target_name}"
    text = plan.get("approve").text or ""
    assert "orders-db" in text and "/srv/bk" in text and "backup_age" in text
    assert argv(plan.get("backup_age"))[3:] == [
        "age",
        "--backup",
        "/srv/bk",
        "--verified-only",
        "--json",
    ]
    assert plan.get("restore").undo == "undo_restore"
    assert argv(plan.compensations["undo_restore"])[3:] == [
        "undo-restore",
        "--db",
        "env:DB_URL",
    ]
    assert plan.compensations["undo_restore"].spec.env == {"DB_URL": "sqlite:///a.db"}
    assert plan.get("stop_writers").when == "stop_writers_command"


def test_restore_writer_commands_are_one_shell_argument() -> None:
    params = BackupRestore.Params(
        backup="/b",
        db="sqlite:///a.db",
        target_name="t",
        stop_writers_command="systemctl stop 'app worker' && echo stopped",
        start_writers_command="systemctl start app",
    )
    plan = ob.plan(BackupRestore, params)
    assert argv(plan.get("stop_writers")) == [
        "sh",
        "-c",
        "--",
        "systemctl stop 'app worker' && echo stopped",
    ]
    assert argv(plan.compensations["undo_stop_writers"]) == [
        "sh",
        "-c",
        "--",
        "systemctl start app",
    ]


def test_disaster_recovery_declares_targets_and_order() -> None:
    assert (DisasterRecovery.rto, DisasterRecovery.rpo) == ("15m", "1h")
    assert (RecoveryTest.rto, RecoveryTest.rpo) == ("15m", "1h")
    params = DisasterRecovery.Params(
        service="shop",
        backup_dir="/srv/bk",
        standby="postgresql://app:pw@standby:5432/shop",
        endpoint_config="/etc/shop/db.env",
        endpoint_key="DATABASE_URL",
    )
    plan = ob.plan(DisasterRecovery, params)
    assert plan.ids() == [
        "declare",
        "find_backup",
        "restore_standby",
        "verify_standby",
        "record_recovery_point",
        "switch_endpoint",
        "announce",
    ]
    assert DisasterRecovery.rto_steps == ("declare", "verify_standby")
    assert RecoveryTest.rto_steps == ("find_backup", "verify_scratch")
    assert plan.get("record_recovery_point").kind == "python"
    declare = DisasterRecovery.step("declare")
    assert isinstance(declare, ob.Gate) and declare.phrase == "{service}"
    restore = argv(plan.get("restore_standby"))
    assert "--verified-only" in restore and "env:STANDBY_URL" in restore
    assert "postgresql://app:pw@standby:5432/shop" not in restore
    assert plan.get("restore_standby").spec.env == {
        "STANDBY_URL": "postgresql://app:pw@standby:5432/shop"
    }
    assert "pw@" not in (plan.get("restore_standby").shown or "")
    assert plan.get("switch_endpoint").undo == "undo_switch_endpoint"
    back = argv(plan.compensations["undo_switch_endpoint"])
    assert back[3:] == ["switch", "--config", "/etc/shop/db.env", "--back"]
    assert "pw" not in str(plan.to_dict())


def test_recovery_test_drops_scratch_unless_kept() -> None:
    params = RecoveryTest.Params(service="shop", backup_dir="/b", scratch="sqlite:///s.db")
    plan = ob.plan(RecoveryTest, params)
    assert plan.ids() == [
        "find_backup",
        "restore_scratch",
        "verify_scratch",
        "record_recovery_point",
        "drop_scratch",
        "backup_fresh",
        "report",
    ]
    assert plan.get("drop_scratch").when == "not keep_scratch"
    assert argv(plan.get("backup_fresh"))[3:] == ["age", "--backup", "/b", "--max", "1h"]
