"""support.common_issues: one drill per leaf, the machine checks against real targets.

Name resolution is real ``getent`` (``localhost`` resolves, ``*.invalid`` never does),
the port check a real TCP connect to loopback, the TLS check real ``openssl
s_client`` against a loopback TLS server presenting a valid, an expired or an
untrusted certificate, and the database check real ``pg_isready`` against a real
PostgreSQL server (or a closed port).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from change_kit import CONTACTS, free_port, make_cert, tls_server

import opsbooks as ob
from opsbooks.testing import Drill, DrillResult, FakeClock
from opsbooks.testing.postgres import PostgresServer
from opsbooks_playbooks.support.common_issues import SupportCommonIssues

LEAVES = {
    planned.id for planned in ob.plan(SupportCommonIssues).steps if planned.kind == "diagnosis"
}
#: leaves reached through a parametrized test
PARAMETRIZED = {"capacity", "client_side"}


def drill_in(tmp_path: Path, clock: FakeClock) -> Drill:
    return Drill(
        root=tmp_path, runbooks=(SupportCommonIssues,), settings={"contacts": CONTACTS}, clock=clock
    )


def ends_at(result: DrillResult, leaf: str) -> None:
    result.assert_succeeded()
    diagnosis = result.fact("diagnosis")
    assert diagnosis is not None and diagnosis.value == leaf, result.output
    finding = result.fact("diagnosis.finding")
    assert finding is not None and finding.value
    for other in LEAVES - {leaf}:  # the run ended at the first leaf it reached
        assert result.steps.get(other) in (None, "skipped"), other


def test_every_leaf_has_a_test() -> None:
    tested = {
        name.removeprefix("test_leaf_") for name in globals() if name.startswith("test_leaf_")
    }
    tested |= set(GATE_ONLY) | PARAMETRIZED
    assert tested == LEAVES


GATE_ONLY = {
    "bad_credentials": {"symptom": "cannot log in", "login_error": "invalid password or token"},
    "account_locked": {"symptom": "cannot log in", "login_error": "account locked"},
    "release_workflow_failed": {
        "symptom": "update or release problem",
        "release_problem": "the release workflow failed",
    },
    "artifact_unsigned": {
        "symptom": "update or release problem",
        "release_problem": "signature or checksum error",
    },
    "feed_stale": {"symptom": "update or release problem", "release_problem": "no update offered"},
    "unknown_issue": {"symptom": "other"},
}


@pytest.mark.parametrize("leaf", sorted(GATE_ONLY))
def test_gate_only_leaves(leaf: str, tmp_path: Path, fake_clock: FakeClock) -> None:
    result = drill_in(tmp_path, fake_clock).run(
        SupportCommonIssues, {"host": "app.example.com"}, answers=GATE_ONLY[leaf]
    )
    ends_at(result, leaf)
    result.assert_not_ran("dns")
    if leaf == "unknown_issue":
        escalated = result.fact("escalated")
        assert escalated is not None and escalated.value == "L2"
        assert CONTACTS["L2"] in result.output


# -- connectivity: real getent, TCP and openssl ------------------------------------


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("certs")
    return {
        "valid": make_cert(folder, "valid"),
        "expired": make_cert(folder, "expired", expired=True),
    }


@pytest.fixture(scope="module")
def tls_ports(certs: dict[str, tuple[Path, Path]]) -> Iterator[dict[str, int]]:
    with tls_server(*certs["valid"]) as valid, tls_server(*certs["expired"]) as expired:
        yield {"valid": valid, "expired": expired}


def connect(tmp_path: Path, clock: FakeClock, **values: Any) -> DrillResult:
    return drill_in(tmp_path, clock).run(
        SupportCommonIssues, values, answers={"symptom": "cannot connect"}
    )


@pytest.mark.slow
def test_leaf_dns_failed(tmp_path: Path, fake_clock: FakeClock) -> None:
    result = drill_in(tmp_path, fake_clock).run(
        SupportCommonIssues,
        {"host": "app.example.invalid"},
        answers={"symptom": "cannot log in", "login_error": "the login page does not load"},
    )
    ends_at(result, "dns_failed")
    assert "getent hosts app.example.invalid" in result.output
    result.assert_not_ran("port_check")


@pytest.mark.slow
def test_leaf_port_closed(tmp_path: Path, fake_clock: FakeClock) -> None:
    port = free_port()
    result = connect(tmp_path, fake_clock, host="localhost", port=port)
    ends_at(result, "port_closed")
    assert f"nothing accepts connections on port {port}" in result.output


@pytest.mark.slow
def test_leaf_tls_expired(
    tmp_path: Path, fake_clock: FakeClock, tls_ports: dict[str, int], certs: Any
) -> None:
    ca = str(certs["expired"][0])
    result = connect(tmp_path, fake_clock, host="localhost", port=tls_ports["expired"], ca_file=ca)
    ends_at(result, "tls_expired")
    assert "certificate has expired" in result.output


@pytest.mark.slow
def test_leaf_tls_untrusted(
    tmp_path: Path, fake_clock: FakeClock, tls_ports: dict[str, int]
) -> None:
    result = connect(tmp_path, fake_clock, host="localhost", port=tls_ports["valid"])
    ends_at(result, "tls_untrusted")


@pytest.mark.slow
def test_leaf_network_path(
    tmp_path: Path, fake_clock: FakeClock, tls_ports: dict[str, int], certs: Any
) -> None:
    ca = str(certs["valid"][0])
    result = connect(tmp_path, fake_clock, host="localhost", port=tls_ports["valid"], ca_file=ca)
    ends_at(result, "network_path")
    assert "Verify return code: 0 (ok)" in result.output
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"


# -- slow: real pg_isready ---------------------------------------------------------


@pytest.mark.slow
def test_leaf_db_down(tmp_path: Path, fake_clock: FakeClock) -> None:
    port = free_port()
    result = drill_in(tmp_path, fake_clock).run(
        SupportCommonIssues,
        {"host": "app.example.com", "db_port": port},
        answers={"symptom": "slow"},
    )
    ends_at(result, "db_down")
    result.assert_not_ran("slow_scope")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scope", "leaf"), [("everyone", "capacity"), ("one user or region", "client_side")]
)
def test_slow_leaves(
    scope: str, leaf: str, tmp_path: Path, fake_clock: FakeClock, support_pg: PostgresServer
) -> None:
    result = drill_in(tmp_path, fake_clock).run(
        SupportCommonIssues,
        {"host": "app.example.com", "db_port": support_pg.port},
        answers={"symptom": "slow", "slow_scope": scope},
    )
    ends_at(result, leaf)
    assert "accepting connections" in result.output
