"""troubleshoot.connectivity reaches each leaf when its fault is made real on loopback."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tsnet_kit import (
    CONTACTS,
    Certs,
    Servers,
    assert_diagnosis,
    hanging_up_port,
    never_accepting_port,
    refusing_port,
)

from opsbooks.testing import Drill

pytestmark = pytest.mark.slow

NAME = "troubleshoot.connectivity"
#: the engine's note for ::output lines a step does not declare (never published)
NO_IGNORED_OUTPUTS = "ignored `::output`"


def params(port: int, **more: Any) -> dict[str, Any]:
    return {"host": "localhost", "port": port, "connect_timeout": 5.0, **more}


def test_a_name_that_does_not_resolve_is_a_dns_failure(tree: Drill) -> None:
    result = tree.run(NAME, {"host": "no-such-service.invalid", "port": 443})
    finding = assert_diagnosis(result, "dns_failure")
    assert "no-such-service.invalid" in finding
    assert re.search(r"NSS or DNS \(\w.+\)$", finding), finding  # the resolver's own error
    assert NO_IGNORED_OUTPUTS not in result.output  # every ::output line is declared
    assert "getent ahosts no-such-service.invalid" in result.output
    result.assert_skipped("connect")
    result.assert_skipped("all_ok")


def test_a_closed_port_is_refused(tree: Drill) -> None:
    with refusing_port() as port:
        result = tree.run(NAME, params(port))
    assert_diagnosis(result, "port_refused")
    assert f"ss -ltnp 'sport = :{port}'" in result.output
    assert NO_IGNORED_OUTPUTS not in result.output
    result.assert_skipped("handshake")


def test_a_port_that_never_accepts_is_filtered(tree: Drill) -> None:
    with never_accepting_port() as port:
        result = tree.run(NAME, params(port, connect_timeout=0.5))
    assert_diagnosis(result, "port_timeout")
    assert "did not answer within 0.5s" in result.output


def test_an_expired_certificate(tree: Drill, certs: Certs, servers: Servers) -> None:
    result = tree.run(NAME, params(servers.expired, ca_file=str(certs.ca)))
    assert_diagnosis(result, "tls_expired")
    assert "certificate has expired" in result.output
    result.assert_skipped("health")


def test_a_certificate_not_valid_yet(tree: Drill, certs: Certs, servers: Servers) -> None:
    result = tree.run(NAME, params(servers.not_yet_valid, ca_file=str(certs.ca)))
    assert_diagnosis(result, "tls_not_yet_valid")


def test_a_certificate_for_another_name(tree: Drill, certs: Certs, servers: Servers) -> None:
    result = tree.run(NAME, params(servers.wrong_host, ca_file=str(certs.ca)))
    assert_diagnosis(result, "tls_hostname_mismatch")
    assert "api.example.net" in result.output  # the names the certificate does hold


def test_a_self_signed_certificate_is_untrusted(
    tree: Drill, certs: Certs, servers: Servers
) -> None:
    result = tree.run(NAME, params(servers.untrusted, ca_file=str(certs.ca)))
    assert_diagnosis(result, "tls_untrusted")
    assert "self-signed" in result.output


def test_a_server_answering_500_is_failing_health(
    tree: Drill, certs: Certs, servers: Servers
) -> None:
    result = tree.run(NAME, params(servers.valid, ca_file=str(certs.ca), health_path="/fail"))
    assert_diagnosis(result, "health_failing")
    assert "answered 500" in result.output
    assert "curl -sS -i https://localhost:" in result.output


def test_a_slow_endpoint_is_high_latency(tree: Drill, servers: Servers) -> None:
    result = tree.run(
        NAME, params(servers.plain, scheme="http", health_path="/slow", max_latency_ms=150)
    )
    assert_diagnosis(result, "latency_high")
    result.assert_skipped("handshake")  # plain http: no TLS layer to check


def test_a_connection_closed_mid_handshake_escalates(tree: Drill) -> None:
    with hanging_up_port() as port:
        result = tree.run(NAME, params(port))
    assert_diagnosis(result, "escalate")
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"
    assert CONTACTS["L2"] in result.output


def test_a_healthy_service_has_no_connectivity_fault(
    tree: Drill, certs: Certs, servers: Servers
) -> None:
    # a generous threshold: a loaded CI machine must not turn this into latency_high
    values = params(servers.valid, ca_file=str(certs.ca), max_latency_ms=10_000)
    result = tree.run(NAME, values | {"expect_body": '"status": "ok"'})
    finding = assert_diagnosis(result, "all_ok")
    assert "No connectivity fault found" in finding
    for step in ("resolve", "connect", "handshake", "health"):
        result.assert_succeeded_step(step)
    assert result.fact("escalated") is None
    assert NO_IGNORED_OUTPUTS not in result.output


def test_https_to_a_plain_http_port_is_plain_http(tree: Drill, servers: Servers) -> None:
    result = tree.run(NAME, params(servers.plain))  # scheme https (the default)
    finding = assert_diagnosis(result, "plain_http")
    assert "answers plain HTTP, not TLS: use --scheme http or fix the listener" in finding
    assert "WRONG_VERSION_NUMBER" in result.output  # what openssl s_client says too
    assert "the port answers plain HTTP ('HTTP/1.0 200 OK')" in result.output
    assert f"curl -sS -i http://localhost:{servers.plain}/healthz" in result.output
    result.assert_skipped("health")
    assert result.fact("escalated") is None


def test_a_certificate_expiring_within_warn_days(
    tree: Drill, certs: Certs, servers: Servers
) -> None:
    values = params(servers.expiring, ca_file=str(certs.ca), max_latency_ms=10_000)
    result = tree.run(NAME, values)  # warn_days 14 by default; it expires in 5 days
    finding = assert_diagnosis(result, "tls_expiring_soon")
    assert "expires in 4 day(s)" in finding and "within 14" in finding
    for step in ("handshake", "health"):  # every layer was still checked
        result.assert_succeeded_step(step)
    result.assert_skipped("all_ok")


def test_warn_days_decides_what_is_soon(tree: Drill, certs: Certs, servers: Servers) -> None:
    values = params(servers.valid, ca_file=str(certs.ca), max_latency_ms=10_000)
    soon = tree.run(NAME, values | {"warn_days": 60})  # the 30-day certificate is soon
    assert "expires in 29 day(s)" in assert_diagnosis(soon, "tls_expiring_soon")
