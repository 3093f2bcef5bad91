"""incident.outage and incident.performance through the engine: a service that is really
stopped (nothing listens) and is started by the restart command, and a service that is
really slow, measured by the runbook's own curl timings before and after the mitigation."""

from __future__ import annotations

import os
import re
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from incident_kit import Service, incident, settings

from opsbooks.testing import Drill
from opsbooks.testing.webhook import RecordingWebhook

pytestmark = pytest.mark.slow  # real HTTP servers, curl, a started process


@pytest.fixture
def stopped_service(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """A port nothing listens on, the command that starts a server there, and its pid file."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = tmp_path / "www"
    root.mkdir()
    pid_file = tmp_path / "server.pid"
    start = (
        f"nohup python -m http.server {port} --bind 127.0.0.1 --directory {root} "
        f">/dev/null 2>&1 & echo $! > {pid_file}"
    )
    yield f"http://127.0.0.1:{port}/", start, pid_file
    if pid_file.exists():
        os.kill(int(pid_file.read_text()), signal.SIGTERM)


OUTAGE_ANSWERS = {
    "declare": True,
    "open_bridge": True,
    "recovery_action": "restart",
    "confirm_resolved": True,
}


def test_outage_of_a_stopped_service_is_recovered_and_verified(
    drill: Drill,
    healthy: Service,
    hook: RecordingWebhook,
    stopped_service: tuple[str, str, Path],
) -> None:
    url, start, pid_file = stopped_service
    drill.settings = settings(hook.url)
    params = {
        **incident(healthy, summary="nobody can log in"),
        "health_url": url,
        "dependency_urls": [healthy.health_url],
        "restart_command": start,
        "update_every": 15,
        "verify_requests": 5,
    }
    result = drill.run("incident.outage", params, answers=OUTAGE_ANSWERS)

    result.assert_succeeded()
    assert "::output health=fail" in result.output and "::output http_code=000" in result.output
    assert "::output failed_dependencies= none" in result.output
    assert pid_file.exists()  # the restart command really started the service
    assert "5 of 5 health checks answered 2xx" in result.output
    severity = result.fact("incident.severity")
    assert severity is not None and severity.value == "SEV1"  # extensive x critical
    assert result.fact("incident.mitigated") is not None
    assert result.fact("incident.resolved") is not None
    pages = hook.texts()
    assert pages[0].startswith("[SEV1] INC-2026-042 declared: api - nobody can log in")
    assert pages[-1].startswith("[SEV1] INC-2026-042 resolved")
    assert "Status page - api: Investigating. nobody can log in" in result.output
    assert "within 15 minutes" in result.output
    assert "Status page - api: Resolved." in result.output
    assert (drill.root / "incidents" / "INC-2026-042-review.md").exists()


def test_outage_with_a_failing_dependency_is_not_declared_over(
    drill: Drill,
    service: Service,
    hook: RecordingWebhook,
    stopped_service: tuple[str, str, Path],
) -> None:
    url, start, _ = stopped_service
    service.set("fail")  # the dependency answers 500
    drill.settings = settings(hook.url)
    params = {
        **incident(service),
        "health_url": url,
        "dependency_urls": [service.health_url],
        "restart_command": start,
        "verify_requests": 2,
    }
    result = drill.run("incident.outage", params, answers=OUTAGE_ANSWERS)

    assert result.outcome != "succeeded"
    assert f"::output failed_dependencies= {service.health_url}" in result.output
    assert result.steps["verify_dependencies"] == "failed"
    assert result.fact("incident.resolved") is None


def test_performance_incident_measures_mitigates_and_measures_again(
    drill: Drill, service: Service, hook: RecordingWebhook
) -> None:
    service.set("slow 0.25")
    drill.settings = settings(hook.url)
    params = {
        **incident(service, impact="significant", urgency="high"),
        "url": service.url + "/api",
        "samples": 4,
        "p95_target_ms": 150,
        "restart_command": f"printf 'ok\\n' > {service.state_file}",
    }
    result = drill.run(
        "incident.performance",
        params,
        answers={
            "acknowledge": True,
            "diagnose": True,
            "mitigation": "restart",
            "confirm_resolved": True,
        },
    )

    result.assert_succeeded()
    assert "::output degraded=yes" in result.output
    assert "::output degraded_after=no" in result.output
    before = float(re.findall(r"\| ::output p95_ms=([0-9.]+)", result.output)[0])
    after = float(re.findall(r"\| ::output p95_ms_after=([0-9.]+)", result.output)[0])
    assert before >= 250 > 150 > after
    assert result.metrics["p95_ms"] >= 250
    assert hook.texts()[0].startswith("[SEV2] INC-2026-042 declared")
    assert result.fact("incident.mitigated") is not None


def test_performance_mitigation_that_does_not_help_is_not_recorded(
    drill: Drill, service: Service, hook: RecordingWebhook
) -> None:
    service.set("slow 0.2")
    drill.settings = settings(hook.url)
    params = {**incident(service), "url": service.url + "/api", "samples": 3, "p95_target_ms": 100}
    result = drill.run(
        "incident.performance",
        params,
        answers={
            "acknowledge": True,
            "diagnose": True,
            "mitigation": "scale out",
            "mitigate_by_hand": True,
            "confirm_resolved": True,
        },
    )
    assert result.steps["within_target"] == "failed"
    assert result.fact("incident.mitigated") is None
    assert hook.statuses == []  # SEV3 by default: nobody paged
