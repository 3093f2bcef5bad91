"""Fast checks of the maintenance and recovery runbooks and their actions (no subprocess)."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from maint_kit import make_shop_sqlite

import opsbooks as ob
from opsbooks.define.argv import dash_positions
from opsbooks.edges.config import Contacts
from opsbooks.edges.discovery import discover
from opsbooks.render.markdown import render_runbook
from opsbooks_playbooks.actions import db
from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError
from opsbooks_playbooks.actions.maintenance import __main__ as maintenance_cli
from opsbooks_playbooks.actions.maintenance import (
    perf,
    perf_report,
    recover,
    sysrec,
    tinyservice,
    upkeep,
)
from opsbooks_playbooks.backup.data_recovery import DataRecovery
from opsbooks_playbooks.dr.system_recovery import SystemRecovery
from opsbooks_playbooks.maintenance.database import MaintenanceDatabase
from opsbooks_playbooks.maintenance.performance_investigation import PerformanceInvestigation

NASTY = "postgresql://app:S3cret'$(touch pwned)@db.internal:5432/shop"
ALL: list[type[ob.Runbook]] = [
    MaintenanceDatabase,
    PerformanceInvestigation,
    DataRecovery,
    SystemRecovery,
]


def test_the_catalog_names_them() -> None:
    names = discover(["opsbooks_playbooks"]).names()
    for runbook in ALL:
        assert runbook.name in names
    assert [r.name for r in ALL] == [
        "maintenance.database",
        "maintenance.performance_investigation",
        "backup.data_recovery",
        "dr.system_recovery",
    ]


@pytest.mark.parametrize("runbook", ALL, ids=lambda r: r.name)
def test_house_template_and_safe_argv(runbook: type[ob.Runbook]) -> None:
    assert runbook.purpose() and runbook.scope and runbook.owner and runbook.title
    assert runbook.prerequisites and runbook.verification and runbook.recovery
    assert all(isinstance(t, ob.Trouble) for t in runbook.troubleshooting)
    assert runbook.reviewed_on() == dt.date(2026, 12, 2) and runbook.review_every_days
    assert set(runbook.related) <= set(discover(["opsbooks_playbooks"]).names())
    assert dash_positions(runbook) == []
    for step in runbook.steps:
        if isinstance(step, ob.Gate):
            assert step.description
    page = render_runbook(runbook, Contacts())
    for planned in ob.plan(runbook).steps:
        assert planned.id in page


@pytest.mark.parametrize(
    ("runbook", "params"),
    [
        (MaintenanceDatabase, {"db": NASTY, "operation": "full"}),
        (PerformanceInvestigation, {"db": NASTY, "urls": ["http://a/x"]}),
        (DataRecovery, {"db": NASTY, "backup": "/b", "table": "orders", "scratch_server": NASTY}),
    ],
    ids=["database", "performance", "data_recovery"],
)
def test_the_database_url_travels_only_in_the_environment(
    runbook: type[ob.Runbook], params: dict[str, object]
) -> None:
    plan = ob.plan(runbook, runbook.Params(**params))
    planned = [*plan.steps, *plan.compensations.values()]
    for step in planned:
        assert NASTY not in (step.command or "") and "S3cret" not in (step.shown or "")
    assert any(NASTY in (getattr(s.spec, "env", None) or {}).values() for s in planned)


def test_bad_params_are_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError):
        MaintenanceDatabase.Params(db="sqlite:///a.db", tables="orders;drop table x")
    with pytest.raises(ValueError):
        DataRecovery.Params(db="sqlite:///a.db", backup="/b", table="-t")
    with pytest.raises(ValueError):
        DataRecovery.Params(db="sqlite:///a.db", backup="/b", table="t", point_in_time="today")
    with pytest.raises(ValueError):
        SystemRecovery.Params(
            service="shop",
            host="h",
            install_dir="relative",
            port=80,
            config_dir="c",
            backup_dir="b",
        )


def test_the_reindex_gate_asks_only_for_large_tables() -> None:
    gate = MaintenanceDatabase.step("approve_reindex")
    assert isinstance(gate, ob.Gate)
    assert gate.when is not None and "large_tables" in str(gate.when)
    assert SystemRecovery.rto_steps == ("declare", "verify_data")


def test_summary_reports_the_reclaimed_space(tmp_path: Path) -> None:
    row = {"name": "public.t", "total_bytes": 9000, "table_bytes": 8000, "index_bytes": 1000}
    before = tmp_path / "b.json"
    after = tmp_path / "a.json"
    before.write_text(
        json.dumps({"tables": [{**row, "live_tuples": 5, "dead_tuples": 95, "bloat_bytes": 7600}]})
    )
    after.write_text(
        json.dumps(
            {
                "tables": [
                    {
                        **row,
                        "total_bytes": 3000,
                        "live_tuples": 5,
                        "dead_tuples": 0,
                        "bloat_bytes": 0,
                    }
                ]
            }
        )
    )
    text = upkeep.summary(before, after)
    assert "::metric reclaimed_bytes=6000" in text
    assert "::metric dead_tuples_removed=95" in text
    assert upkeep.large_tables(json.loads(before.read_text())["tables"], 9000) == ["public.t"]


def test_regressions_are_found_in_the_direction_that_is_worse() -> None:
    base = {"endpoint u p95_ms": 10.0, "host mem_available_pct": 50.0, "endpoint u errors": 0.0}
    assert perf.compare(base, base, 20) == []
    worse = {"endpoint u p95_ms": 13.0, "host mem_available_pct": 30.0, "endpoint u errors": 2.0}
    found = perf.compare(worse, base, 20)
    assert len(found) == 3
    better = {"endpoint u p95_ms": 5.0, "host mem_available_pct": 80.0, "endpoint u errors": 0.0}
    assert perf.compare(better, base, 20) == []


def test_report_saves_a_first_baseline_and_rejects_a_bad_decision(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "host.json").write_text(json.dumps({"load_per_cpu": 0.5}))
    out = folder / "report.md"
    text = perf_report.report(folder, tmp_path / "baseline.json", 20, out, run="r1")
    assert "::output findings=0" in text and (tmp_path / "baseline.json").exists()
    with pytest.raises(DbUsageError):
        perf_report.followup(out, "page everyone", "r1")
    assert "no follow-up" in perf_report.followup(out, "nothing", "r1")
    assert "**nothing**" in out.read_text()


def test_point_in_time_picks_the_newest_backup_taken_by_then(tmp_path: Path) -> None:
    live = tmp_path / "shop.db"
    make_shop_sqlite(live)
    for day in (1, 2, 3):
        path, _, _ = db.backup(
            f"sqlite:///{live}",
            tmp_path / "bk",
            now=lambda d=day: dt.datetime(2026, 12, d, tzinfo=dt.UTC),
        )
        if day != 2:
            db.verify(path)
    _chosen, manifest = recover.pick(tmp_path / "bk", "2026-12-02T12:00:00Z")
    assert manifest.created_at.startswith("2026-12-01")  # day 2 is not verified
    assert recover.pick(tmp_path / "bk")[1].created_at.startswith("2026-12-03")
    with pytest.raises(DbError, match="taken at or before"):
        recover.pick(tmp_path / "bk", "2026-11-30T00:00:00Z")
    with pytest.raises(DbError, match=r"no table public\.nope"):
        recover.pick_report(tmp_path / "bk", "", "public.nope")


def test_a_job_refuses_names_that_could_be_code() -> None:
    with pytest.raises(DbUsageError):
        recover.Job(db="sqlite:///a.db", table="t", work=Path("w"), run="r; rm -rf /")
    with pytest.raises(DbUsageError):
        recover.Job(db="sqlite:///a.db", table="t", work=Path("w"), run="r", key="id; --")


def test_bundle_holds_the_config_and_the_program(tmp_path: Path) -> None:
    config = tmp_path / "conf"
    (config / "sub").mkdir(parents=True)
    (config / "service.conf").write_text("PORT=1\n")
    (config / "sub" / "x.conf").write_text("x\n")
    out = tmp_path / "b.tgz"
    sysrec.bundle(config, out)
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert {"etc/service.conf", "etc/sub/x.conf", "bin/tinyservice.py"} <= names
    with pytest.raises(DbError, match=r"no service\.conf"):
        sysrec.bundle(tmp_path, tmp_path / "c.tgz")


def test_the_service_health_counts_rows_and_reports_a_missing_file(tmp_path: Path) -> None:
    data = tmp_path / "s.db"
    with sqlite3.connect(data) as conn:
        conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO events VALUES (1), (2)")
    conn.close()
    assert tinyservice.health(data) == (200, {"status": "ok", "tables": {"events": 2}})
    assert tinyservice.health(tmp_path / "none.db")[0] == 503


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = maintenance_cli.PROGRAM.main(
        [
            "figures",
            "--db",
            f"sqlite:///{tmp_path}/x.db",
            "--tables=orders;drop",
            "--label",
            "before",
            "--save",
            str(tmp_path / "f.json"),
        ],
        out=out,
        err=err,
    )
    assert code == 2 and "is not a table name" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    err = io.StringIO()
    code = maintenance_cli.PROGRAM.main(
        ["perf-db", "--db", f"sqlite:///{tmp_path}/x.db", "--out", str(tmp_path / "d.json")],
        out=out,
        err=err,
    )
    assert code == 2 and "postgresql://" in err.getvalue()
