"""``opsbooks run`` of a small troubleshooting tree in a temp project, in a subprocess:
real ``getent`` and ``pg_isready`` decide the branch against a real PostgreSQL on
loopback, a free port where nothing listens, and a name that does not resolve."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_kit import cli, last_run, query, write_project

from opsbooks.testing.postgres import PostgresServer, free_port, postgres_server

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parent / "diagbooks" / "pg_reach.py"
NAME = "fixtures.diagnosis_tree"
L2 = "Platform on-call (#platform)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("diag-pg")) as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("diag-project")
    return write_project(
        root, {"tree": SOURCE.read_text()}, config={"contacts": {"L1": "Ops", "L2": L2}}
    )


def _facts(root: Path, run_id: str) -> dict[str, str]:
    rows = query(root, "SELECT name, value FROM facts WHERE run_id = ?", run_id)
    return {str(name): str(json.loads(value)) for name, value in rows}  # stored as JSON


def _skipped(root: Path, run_id: str) -> dict[str, str]:
    sql = "SELECT step_id, reason FROM transitions WHERE run_id = ? AND status = 'skipped'"
    return {str(step): str(reason) for step, reason in query(root, sql, run_id)}


def test_a_name_that_does_not_resolve_ends_at_the_dns_leaf(project: Path) -> None:
    done = cli(project, "run", NAME, "--host", "no-such-host.invalid")
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = last_run(project)
    assert "diagnosis: no-such-host.invalid does not resolve" in done.stdout
    assert "$ getent hosts no-such-host.invalid" in done.stdout
    assert _facts(project, run_id)["diagnosis"] == "dns_failed"
    assert _skipped(project, run_id)["path_or_client"] == "the run ended at diagnosis dns_failed"
    again = cli(project, "resume", run_id)
    assert again.returncode == 2 and "already succeeded" in again.stderr  # nothing more to run


def test_a_port_where_nothing_listens_ends_at_not_listening(project: Path) -> None:
    port = str(free_port())
    done = cli(project, "run", NAME, "--host", "127.0.0.1", "--port", port)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = last_run(project)
    assert f"diagnosis: Nothing answers on 127.0.0.1:{port}" in done.stdout
    assert f"$ ss -ltn sport = :{port}" in done.stdout
    facts = _facts(project, run_id)
    assert facts["diagnosis"] == "not_listening" and "escalated" not in facts
    assert _skipped(project, run_id)["dns_failed"] == "branch routed to not_listening"


def test_a_server_that_accepts_escalates_to_l2(project: Path, server: PostgresServer) -> None:
    done = cli(project, "run", NAME, "--host", server.host, "--port", str(server.port))
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = last_run(project)
    assert "accepting connections" in done.stdout  # pg_isready itself said so
    assert f"escalate to L2: {L2}" in done.stdout
    assert "the run ended at diagnosis path_or_client" in done.stdout
    facts = _facts(project, run_id)
    assert facts["diagnosis"] == "path_or_client" and facts["escalated"] == "L2"
    assert facts["diagnosis.finding"].startswith(f"PostgreSQL on {server.host}:{server.port}")
    report = cli(project, "report", run_id)
    assert report.returncode == 0, report.stderr
    assert (
        f"- Diagnosis: `path_or_client`: PostgreSQL on {server.host}:{server.port} accepts "
        "connections: the fault is in the client (escalated to L2)"
    ) in report.stdout
