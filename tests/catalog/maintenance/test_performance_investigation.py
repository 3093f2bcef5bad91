"""maintenance.performance_investigation through the engine: real HTTP, real PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from maint_kit import PASSWORD, pg_url

from opsbooks.testing import Drill
from opsbooks.testing.postgres import PostgresServer

pytestmark = pytest.mark.slow  # a real HTTP server and PostgreSQL, actions as subprocesses


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(0.04)
        status = 500 if self.path == "/broken" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    """A real HTTP service on 127.0.0.1: /fast answers at once, /slow after 40 ms."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_first_run_saves_the_baseline_and_a_regression_is_found_the_next_time(
    drill: Drill, service: str, maint_pg: PostgresServer
) -> None:
    maint_pg.dropdb("perf_app")
    maint_pg.createdb("perf_app")
    drill.environ = {"OPSBOOKS_SECRET_DB": pg_url(maint_pg, "perf_app")}
    params = {
        "urls": [f"{service}/fast", f"{service}/slow"],
        "samples": 3,
        "snapshots": 2,
        "snapshot_interval": 0.05,
    }
    first = drill.run(
        "maintenance.performance_investigation", params, answers={"decide": "nothing"}
    )
    first.assert_succeeded()
    assert first.report.outputs["findings"] == "0"
    baseline = drill.root / ".opsbooks" / "performance" / "baseline.json"
    figures = json.loads(baseline.read_text())["figures"]
    assert figures[f"endpoint {service}/slow p95_ms"] >= 40  # measured for real
    assert f"endpoint {service}/fast p95_ms" in figures and "db waiting" in figures
    assert first.metrics["slowest_endpoint_p95_ms"] >= 40
    assert "pg_stat_statements is not installed" in first.output  # the snapshot path
    # make the stored baseline say /slow used to answer in 5 ms: now it is a regression
    figures[f"endpoint {service}/slow p95_ms"] = 5.0
    baseline.write_text(json.dumps({"figures": figures}))

    second = drill.run(
        "maintenance.performance_investigation",
        {**params, "urls": [f"{service}/slow", f"{service}/broken"]},
        answers={"decide": "ticket"},
    )
    second.assert_succeeded()
    assert second.report.outputs["verdict"] == "regressed"
    report = Path(drill.root / second.report.outputs["report"]).read_text()
    assert f"endpoint {service}/slow p95_ms" in report.split("## Findings")[1].split("##")[0]
    assert "**ticket**" in report
    draft = next((drill.root / ".opsbooks" / "performance" / second.run_id).glob("*.ticket.md"))
    assert "/slow" in draft.read_text()
    assert second.gates[-1].answer == "ticket" and second.gates[-1].approver == "drill"
    assert second.metrics["endpoint_errors"] == 3  # /broken answered 500 three times
    for text in (first.output, second.output):
        assert PASSWORD not in text


def test_without_a_database_only_endpoints_and_host_are_read(drill: Drill, service: str) -> None:
    result = drill.run(
        "maintenance.performance_investigation",
        {"urls": [f"{service}/fast"], "samples": 2},
        answers={"decide": "nothing"},
    )
    result.assert_succeeded()
    result.assert_skipped("database")
    assert "host load_per_cpu" in Path(drill.root / result.report.outputs["report"]).read_text()
