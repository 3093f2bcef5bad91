"""The monitoring runbooks through the engine, against the session's real Prometheus and
Alertmanager (tests/catalog/monitoring/monitoring_kit.py) and real promtool/amtool."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path

import pytest
from exports_kit import exports
from monitoring_kit import SLA_DOWN_SAMPLES, Monitoring

import opsbooks as ob
from opsbooks.edges.discovery import discover
from opsbooks.testing import Drill

pytestmark = pytest.mark.slow


class QueueDrain(ob.Runbook):
    """Drain the work queue (the runbook the QueueBacklog alert's label names)."""

    name = "ops.queue_drain"
    scope = "The test queue."
    owner = "sre"
    last_reviewed = "2026-12-02"

    drain = ob.Command("echo drained by run {run_id} >> drained.txt", idempotent=True)


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture
def catalog_drill(drill: Drill) -> Drill:
    drill.runbooks = (*discover(["opsbooks_playbooks"]), QueueDrain)
    return drill


def _silences_of(monitoring: Monitoring, run_id: str) -> list[dict[str, object]]:
    return [s for s in monitoring.alertmanager.silences() if run_id in str(s.get("comment"))]


def test_a_firing_alert_is_silenced_by_the_operator_and_routed_to_its_runbook(
    monitoring: Monitoring, catalog_drill: Drill
) -> None:
    catalog_drill.settings = {"state_dir": "var/opsbooks-state"}  # not the default .opsbooks
    monitoring.exporter.set("app_queue_depth", 500, service="queue")
    try:
        fired = monitoring.alertmanager.wait_for_alert("QueueBacklog")
        result = catalog_drill.run(
            "monitoring.alert_response",
            {"alertmanager": monitoring.alertmanager.url, "match": "service=queue"},
            answers={"acknowledge": True},
        )
    finally:
        monitoring.exporter.set("app_queue_depth", 3, service="queue")
    result.assert_succeeded()
    saved = catalog_drill.root / "var" / "opsbooks-state" / f"alerts-{result.run_id}.json"
    assert json.loads(saved.read_text())[0]["labels"]["alertname"] == "QueueBacklog"
    assert not (catalog_drill.root / ".opsbooks").exists()  # the configured state dir only
    (silence,) = _silences_of(monitoring, result.run_id)
    assert silence["createdBy"] == "drill"
    assert silence["status"] == {"state": "active"}
    assert "monitoring.alert_response" in str(silence["comment"])
    assert {"name": "alertname", "value": "QueueBacklog", "isRegex": False, "isEqual": True} in (
        silence["matchers"]  # type: ignore[operator]
    )
    active = [a["labels"]["alertname"] for a in monitoring.alertmanager.alerts()]
    assert "QueueBacklog" not in active
    child = next(t.detail["child_run"] for t in result.transitions if t.detail.get("child_run"))
    journal = catalog_drill.journal()
    try:
        assert journal.get_run(child).runbook == "ops.queue_drain"
        assert journal.get_run(child).outcome == "succeeded"
    finally:
        journal.close()
    assert f"drained by run {child}" in (catalog_drill.root / "drained.txt").read_text()
    severity, detected = result.fact("incident.severity"), result.fact("incident.detected")
    assert severity is not None and severity.value == "SEV2"  # critical x moderate impact
    assert detected is not None and detected.at == pytest.approx(epoch(fired["startsAt"]), abs=1)
    acknowledged = result.fact("incident.acknowledged")
    assert acknowledged is not None and acknowledged.who == "drill"
    assert result.fact("incident.mitigated") is not None
    result.assert_skipped("by_hand")


def test_an_unknown_runbook_label_fails_the_route_and_expires_the_silence(
    monitoring: Monitoring, catalog_drill: Drill
) -> None:
    monitoring.exporter.set("app_ghost_errors", 1, service="ghost")
    try:
        monitoring.alertmanager.wait_for_alert("GhostAlert")
        result = catalog_drill.run(
            "monitoring.alert_response",
            {"alertmanager": monitoring.alertmanager.url, "match": "service=ghost"},
            answers={"acknowledge": True},
        )
    finally:
        monitoring.exporter.set("app_ghost_errors", 0, service="ghost")
    assert result.outcome == "rolled_back" and result.steps["route"] == "failed"
    assert "no runbook named 'ops.no_such_runbook'" in result.report.reason
    result.assert_compensated("silence")
    (silence,) = _silences_of(monitoring, result.run_id)
    assert silence["status"] == {"state": "expired"}  # the page is live again


def test_an_unreachable_alertmanager_is_a_clear_error(catalog_drill: Drill) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = catalog_drill.run(
        "monitoring.alert_response", {"alertmanager": f"http://127.0.0.1:{port}"}
    )
    assert result.outcome == "failed"
    assert f"cannot reach Alertmanager at http://127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_setup_passes_with_every_required_monitor_everywhere(catalog_drill: Drill) -> None:
    params = exports(catalog_drill.root)
    am_config = catalog_drill.root / "alertmanager.yml"
    am_config.write_text("route: {receiver: ops}\nreceivers: [{name: ops}]\n")
    params["alertmanager_config"] = str(am_config)
    result = catalog_drill.run("monitoring.setup", params, answers={"thresholds_fit": True})
    result.assert_succeeded()
    for step in (
        "check_rules",
        "check_alertmanager",
        "prometheus_alerts",
        "datadog_monitors",
        "newrelic_conditions",
        "splunk_searches",
    ):
        result.assert_succeeded_step(step)


def test_promtool_rejects_a_broken_rule_file(catalog_drill: Drill) -> None:
    params = exports(catalog_drill.root)
    (Path(params["rules"]) / "broken.yml").write_text(
        "groups:\n  - name: bad\n    rules:\n      - alert: Broken\n"
        "        expr: rate(http_requests_total[5m] > 1\n"
    )
    result = catalog_drill.run("monitoring.setup", params, answers={"thresholds_fit": True})
    assert result.outcome == "failed" and result.steps["check_rules"] == "failed"
    assert "broken.yml" in result.output
    result.assert_not_ran("prometheus_alerts")


def test_a_missing_datadog_monitor_is_named_with_how_to_add_it(catalog_drill: Drill) -> None:
    params = exports(catalog_drill.root, datadog_skip="HighLatencyP90")
    result = catalog_drill.run("monitoring.setup", params, answers={"thresholds_fit": True})
    assert result.steps["datadog_monitors"] == "failed"
    assert "missing monitor HighLatencyP90" in result.output
    assert "create a monitor named HighLatencyP90" in result.output
    result.assert_not_ran("newrelic_conditions")


def test_performance_baseline_then_regression(monitoring: Monitoring, catalog_drill: Drill) -> None:
    baseline = catalog_drill.root / "baseline.json"
    common = {"prometheus": monitoring.prometheus.url, "job": "perf_app", "baseline": str(baseline)}
    good = monitoring.history.perf_good
    recorded = catalog_drill.run(
        "monitoring.performance",
        {**common, "mode": "record", "at": iso(good)},
        answers={"confirm_record": True},
    )
    recorded.assert_succeeded()
    figures = json.loads(baseline.read_text())["figures"]
    assert figures["request_rate"] == pytest.approx(100, rel=0.01)
    assert figures["error_ratio"] == pytest.approx(0.01, rel=0.01)
    assert figures["p90_latency_seconds"] == pytest.approx(0.1 + 40 / 45 * 0.15, rel=0.01)

    same = catalog_drill.run("monitoring.performance", {**common, "at": iso(good + 300)})
    same.assert_succeeded()
    worse = catalog_drill.run(
        "monitoring.performance", {**common, "at": iso(monitoring.history.perf_bad)}
    )
    assert worse.outcome == "failed" and worse.steps["measure"] == "failed"
    assert "p90 latency rose" in worse.output and "929 ms against 233 ms" in worse.output
    assert "error ratio rose to 3.00% from 1.00%" in worse.output


def test_capacity_report_has_the_projected_trigger_date(
    monitoring: Monitoring, catalog_drill: Drill
) -> None:
    report = catalog_drill.root / "capacity.md"
    params = {
        "prometheus": monitoring.prometheus.url,
        "job": "cap_node",
        "report": str(report),
        "load": 100.0,
        "disk": 0.85,
        "horizon_days": 30,
    }
    result = catalog_drill.run(
        "monitoring.capacity_planning",
        params,
        answers={"request_capacity": True, "request_filed": True},
    )
    result.assert_succeeded()
    reaches = monitoring.history.cap_reaches(0.85)
    expected = dt.datetime.fromtimestamp(reaches, dt.UTC).strftime("%Y-%m-%d")
    text = report.read_text()
    assert f"- disk /var reaches 85% on {expected}" in text
    assert "| memory db-1:9100 | 50.0% | 90% | +0.00 points/day | not growing |" in text
    assert "| disk /var |" in text and "+1.00 points/day" in text
    for local in ("| local disk / |", "| local memory |", "| load |"):  # df, meminfo, loadavg
        assert local in text
    result.assert_succeeded_step("request_filed")


def test_sla_budget_from_a_series_with_a_known_outage(
    monitoring: Monitoring, catalog_drill: Drill
) -> None:
    common = {
        "prometheus": monitoring.prometheus.url,
        "job": "sla_api",
        "window": "1d",
        "at": iso(monitoring.history.sla_end),
    }
    availability = 1 - SLA_DOWN_SAMPLES / 1440  # 72 minutes down in a day: 95%
    relaxed = catalog_drill.run("monitoring.sla", {**common, "target": 0.9})
    relaxed.assert_succeeded()
    assert f"availability {100 * availability:.3f}%" in relaxed.output
    assert (
        "budget 144.0 min, spent 72.0 min, 50.0% left, burn rate 0.50 (1h 0.00, 6h 0.00): ok"
        in relaxed.output
    )
    relaxed.assert_skipped("budget_action")

    strict = catalog_drill.run(
        "monitoring.sla", {**common, "target": 0.99}, answers={"budget_action": True}
    )
    assert (
        "budget 14.4 min, spent 72.0 min, -400.0% left, "
        "burn rate 5.00 (1h 0.00, 6h 0.00): exhausted" in strict.output
    )
    assert strict.steps["budget_ok"] == "failed"
    assert strict.outcome == "succeeded_with_warnings"
    strict.assert_succeeded_step("budget_action")


def test_sla_from_a_health_check_history_file(catalog_drill: Drill) -> None:
    history = catalog_drill.root / "checks.log"
    end = 1_796_000_000
    states = ["fail" if 600 <= k < 630 else "ok" for k in range(1441)]  # 30 minutes down
    lines = [f"{iso(end - 86400 + 60 * k)} {state}" for k, state in enumerate(states)]
    history.write_text("\n".join(lines) + "\n")
    params = {
        "job": "api",
        "source": "history",
        "history": str(history),
        "window": "1d",
        "target": 0.95,
        "at": iso(end),
    }
    result = catalog_drill.run("monitoring.sla", params)
    result.assert_succeeded()
    assert "api availability 97.917% over 1d against SLO 95%" in result.output
    assert "budget 72.0 min, spent 30.0 min, 58.3% left, burn rate 0.42" in result.output
