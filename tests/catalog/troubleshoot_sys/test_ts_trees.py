"""The three trees' definitions and checks, without a subprocess: plan, page, leaves, params.

The check functions that need no server run in-process here (percentiles, PSI and
/proc parsing on a fake procfs, SQLite integrity on real files, the MCP probe's
finding for each failure); the drills in the other modules run them for real.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.define.argv import dash_positions
from opsbooks.define.contacts import Contacts
from opsbooks.define.params import validate_params
from opsbooks.edges.discovery import discover
from opsbooks.render.markdown import render_runbook
from opsbooks_playbooks.actions import UsageError
from opsbooks_playbooks.actions.diagnose import latency, mcp_probe, pressure
from opsbooks_playbooks.actions.diagnose import sqlite as sqlite_check
from opsbooks_playbooks.troubleshoot.database import Database
from opsbooks_playbooks.troubleshoot.mcp import Mcp
from opsbooks_playbooks.troubleshoot.performance import Performance

TREES: dict[type[ob.Runbook], tuple[str, ...]] = {
    Database: (
        "healthy",
        "server_down",
        "server_rejecting",
        "bad_connection_params",
        "saturated",
        "login_refused",
        "escalate_connect",
        "lock_contention",
        "long_running",
        "replication_lag",
        "sqlite_healthy",
        "sqlite_missing",
        "sqlite_corrupt",
    ),
    Performance: (
        "healthy",
        "endpoint_down",
        "endpoint_errors",
        "cpu_saturated",
        "memory_low",
        "io_pressure",
        "disk_full",
        "inodes_exhausted",
        "slow_endpoint",
    ),
    Mcp: (
        "healthy",
        "server_not_found",
        "server_exits",
        "init_timeout",
        "http_refused",
        "http_not_found",
        "http_error",
        "no_tools",
        "tool_missing",
        "tool_error",
    ),
}
#: the leaf a tree falls through to when no branch case holds
FALL_THROUGH = {Database: {"healthy", "sqlite_healthy"}, Performance: {"healthy"}, Mcp: {"healthy"}}


def plan_of(runbook: type[ob.Runbook]) -> ob.Plan:
    values = {"command": "mcp-server"} if runbook is Mcp else {}
    return ob.plan(runbook, validate_params(runbook.name, runbook.Params, values))


@pytest.mark.parametrize("runbook", list(TREES), ids=lambda r: r.name)
def test_every_leaf_is_a_diagnosis_reached_by_a_branch(runbook: type[ob.Runbook]) -> None:
    the_plan = plan_of(runbook)
    assert [s.id for s in the_plan.steps if s.kind == "diagnosis"] == list(TREES[runbook])
    targets = set(FALL_THROUGH[runbook])
    for planned in the_plan.steps:
        if planned.kind == "branch":
            targets |= {target for _, target in planned.spec.cases}
    gates = {"offer_terminate": "lock_contention"}  # a branch reaches the leaf through its gate
    targets |= {leaf for gate, leaf in gates.items() if gate in targets}
    assert set(TREES[runbook]) <= targets, set(TREES[runbook]) - targets


@pytest.mark.parametrize("runbook", list(TREES), ids=lambda r: r.name)
def test_house_template_and_page(runbook: type[ob.Runbook]) -> None:
    assert runbook.purpose() and runbook.scope and runbook.owner and runbook.title
    assert runbook.prerequisites and runbook.verification and runbook.troubleshooting
    assert runbook.recovery and runbook.changelog and str(runbook.last_reviewed) == "2026-12-02"
    assert set(runbook.related) <= set(discover(["opsbooks_playbooks"]).names())
    assert dash_positions(runbook) == []
    page = render_runbook(runbook, Contacts(L2="Platform on-call"))
    chart = page.split("```mermaid", 1)[1].split("```", 1)[0]
    for leaf in TREES[runbook]:
        assert f"step_{leaf}" in chart


def test_the_terminate_offer_is_a_described_optional_gate() -> None:
    gate = Database.step("offer_terminate")
    assert gate.on_decline == "skip" and "pg_stat_activity" in gate.description  # type: ignore[attr-defined]
    assert "rolled back" in Database.step("terminate_blocker").irreversible


def test_a_sqlite_path_that_could_be_an_option_is_refused() -> None:
    with pytest.raises(ob.ParamsError, match="sqlite-path"):
        validate_params(Database.name, Database.Params, {"sqlite_path": "--help"})


def test_mcp_needs_something_to_probe() -> None:
    with pytest.raises(ob.ParamsError, match="--command"):
        validate_params(Mcp.name, Mcp.Params, {"tool": "echo"})
    for bad in ("[1]", "{nope"):
        with pytest.raises(ob.ParamsError, match="--arguments"):
            validate_params(Mcp.name, Mcp.Params, {"command": "srv", "arguments": bad})


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [
        ([], 50, 0.0),
        ([5.0], 99, 5.0),
        ([float(n) for n in range(1, 101)], 50, 50.0),
        ([float(n) for n in range(1, 101)], 99, 99.0),
        ([3.0, 1.0, 2.0], 90, 3.0),
    ],
)
def test_nearest_rank_percentiles(values: list[float], pct: float, expected: float) -> None:
    assert latency.percentile(values, pct) == expected


def test_a_non_http_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not an http"):
        latency.one_request("ftp://example.com/", 1.0)


def _fake_proc(root: Path, *, psi: bool, load: str = "3.00 2.00 1.00 1/100 42") -> Path:
    (root / "loadavg").write_text(load)
    (root / "meminfo").write_text(
        "MemTotal: 1000000 kB\nMemFree: 50000 kB\nMemAvailable: 80000 kB\n"
        "SwapTotal: 200000 kB\nSwapFree: 50000 kB\n"
    )
    if psi:
        (root / "pressure").mkdir()
        (root / "pressure" / "cpu").write_text(
            "some avg10=1.00 avg60=0.50 avg300=0.10 total=123456\n"
            "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
        )
    return root


def test_psi_counters_and_memory_are_read_from_procfs(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, psi=True)
    assert pressure.psi_total(proc, "cpu") == 123456
    assert pressure.psi_total(proc, "io") is None  # no such file: not measured
    assert pressure.memory_figures(proc) == {"mem_available_pct": 8.0, "swap_used_pct": 75.0}


def test_without_psi_cpu_falls_back_to_load_per_core(tmp_path: Path) -> None:
    proc = _fake_proc(tmp_path, psi=False, load="6.00 1.00 1.00 1/100 42")
    assert pressure.psi_total(proc, "cpu") is None
    cores = __import__("os").cpu_count() or 1
    assert pressure.load_percent(proc) == round(600.0 / cores, 1)


def test_busiest_processes_by_cpu_time_in_the_window() -> None:
    before = {"10": ("idle", 100), "11": ("burner", 100), "12": ("gone", 5)}
    after = {"10": ("idle", 101), "11": ("burner", 200), "13": ("new", 50)}
    rows = pressure.busiest(before, after, seconds=1.0)
    assert [row[0] for row in rows] == ["11", "10"]  # new and gone processes are left out


def _db(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 200,) for _ in range(500)])
    conn.close()
    return path


def test_sqlite_integrity_of_intact_damaged_and_missing_files(tmp_path: Path) -> None:
    good = _db(tmp_path / "good.db")
    assert sqlite_check.integrity(good).outputs["integrity"] == "ok"
    bad = _db(tmp_path / "bad.db")
    with bad.open("r+b") as handle:
        handle.seek(0)
        handle.write(b"\x00" * 100)  # the header: no longer a database at all
    found = sqlite_check.integrity(bad).outputs
    assert found["integrity"] == "corrupt" and "not a database" in str(found["integrity_detail"])
    assert sqlite_check.integrity(tmp_path / "nope.db").outputs["integrity"] == "missing"


@pytest.mark.parametrize(
    ("transport", "phase", "error", "status"),
    [
        ("stdio", "start", OSError("[Errno 2] No such file"), "not_found"),
        ("stdio", "initialize", ValueError("Connection closed"), "exited"),
        ("http", "initialize", TimeoutError(), "timeout"),
        ("http", "initialize", ExceptionGroup("g", [ConnectionRefusedError("refused")]), "refused"),
        ("http", "initialize", RuntimeError("Not Found"), "http_404"),
        ("http", "initialize", RuntimeError("Unauthorized"), "http_error"),
        ("http", "list_tools", RuntimeError("Method not found"), "no_tools"),
        ("stdio", "call_tool", RuntimeError("boom"), "tool_error"),
    ],
)
def test_probe_findings(transport: str, phase: str, error: BaseException, status: str) -> None:
    probe = mcp_probe.Probe(transport, phase=phase)
    mcp_probe.classify(probe, error)
    assert probe.status == status


def test_probe_arguments_must_be_a_json_object() -> None:
    with pytest.raises(UsageError, match="JSON object"):
        mcp_probe._arguments("[1, 2]")
    with pytest.raises(UsageError, match="not JSON"):
        mcp_probe._arguments("{nope")


NASTY = "/tmp/it's a $(touch pwned) `db`;.db"


def test_hostile_values_reach_the_checks_as_one_argument() -> None:
    import shlex

    db = ob.plan(Database, validate_params(Database.name, Database.Params, {"sqlite_path": NASTY}))
    argv = shlex.split(str(db.get("sqlite_integrity").command))
    assert argv[-1] == f"--path={NASTY}"
    command = "mcp-server --token-file ~/.t; touch pwned"
    mcp = ob.plan(Mcp, validate_params(Mcp.name, Mcp.Params, {"command": command}))
    assert f"--command={command}" in shlex.split(str(mcp.get("probe").command))
    perf = ob.plan(
        Performance,
        validate_params(Performance.name, Performance.Params, {"disk_path": NASTY}),
    )
    assert f"--path={NASTY}" in shlex.split(str(perf.get("host").command))
