"""Fast tests of the monitoring runbooks' definitions and their actions' arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from exports_kit import datadog, exports, newrelic, splunk

import opsbooks as ob
from opsbooks.define.argv import dash_positions
from opsbooks.edges.config import Contacts
from opsbooks.edges.discovery import discover
from opsbooks.render.markdown import render_runbook
from opsbooks.testing import Drill
from opsbooks_playbooks.actions import ActionError, UsageError
from opsbooks_playbooks.actions.monitoring import alerts as am
from opsbooks_playbooks.actions.monitoring import figures as fig
from opsbooks_playbooks.actions.monitoring import monitors as mon
from opsbooks_playbooks.actions.monitoring.api import crossing, duration, linear_fit
from opsbooks_playbooks.actions.monitoring.capacity import Figure, report
from opsbooks_playbooks.monitoring.alert_response import AlertResponse
from opsbooks_playbooks.monitoring.capacity_planning import CapacityPlanning
from opsbooks_playbooks.monitoring.performance import Performance
from opsbooks_playbooks.monitoring.setup import MonitoringSetup
from opsbooks_playbooks.monitoring.sla import SlaCheck

ALL: list[type[ob.Runbook]] = [
    MonitoringSetup,
    AlertResponse,
    Performance,
    CapacityPlanning,
    SlaCheck,
]


@pytest.mark.parametrize("runbook", ALL, ids=lambda r: r.name)
def test_house_template_and_argv_safety(runbook: type[ob.Runbook]) -> None:
    assert runbook.purpose() and runbook.scope and runbook.owner and runbook.prerequisites
    assert runbook.verification and runbook.troubleshooting and runbook.recovery
    assert runbook.changelog and runbook.review_every_days
    assert str(runbook.reviewed_on()) == "2026-12-02"
    assert set(runbook.related) <= set(discover(["opsbooks_playbooks"]).names())
    assert dash_positions(runbook) == []
    page = render_runbook(runbook, Contacts())
    for planned in ob.plan(runbook).steps:
        assert planned.id in page


def test_the_route_is_a_runbook_named_at_run_time() -> None:
    page = render_runbook(AlertResponse, Contacts())
    assert "Starts a linked run of the runbook named by the alert's runbook label" in page
    assert "`{outputs.alert_runbook}`, found in the catalog when the step runs" in page
    plan = ob.plan(AlertResponse, AlertResponse.Params(alertmanager="http://127.0.0.1:9093"))
    route = plan.get("route")
    assert route.kind == "subrun" and route.spec.chosen_by
    assert "the runbook named by the alert's runbook label ({outputs.alert_runbook})" in (
        route.text or ""
    )
    bound = route.rebind({"outputs": {"alert_runbook": "db.failover"}})  # type: ignore[misc]
    assert bound.spec.runbook == "db.failover" and bound.spec.category == "db"


def test_a_subrun_named_by_plain_text_is_refused() -> None:
    with pytest.raises(ob.DefinitionError, match="must be a template"):

        class Bad(ob.Runbook):
            """Bad."""

            name = "t.bad_subrun"
            scope, owner, last_reviewed = "t", "t", "2026-12-02"
            go = ob.SubRun("ops.queue_drain")


def test_params_refuse_urls_and_matchers_that_are_not_data() -> None:
    with pytest.raises(ValueError):
        AlertResponse.Params(alertmanager="--upload-file=/etc/passwd")
    with pytest.raises(ValueError):
        AlertResponse.Params(alertmanager="http://127.0.0.1:9093", match="a=b;rm -rf /")
    with pytest.raises(ValueError):
        Performance.Params(prometheus="http://p:9090", job='app"} or vector(1)', baseline="b")


def test_every_vendor_export_with_all_monitors_passes(tmp_path: Path) -> None:
    params = exports(tmp_path)
    for vendor, key in [
        ("prometheus", "rules"),
        ("datadog", "datadog_export"),
        ("newrelic", "newrelic_export"),
        ("splunk", "splunk_export"),
    ]:
        found = mon.read_export(vendor, Path(params[key]))  # type: ignore[arg-type]
        assert mon.problems(vendor, found, mon.REQUIRED) == [], vendor  # type: ignore[arg-type]


def test_lax_disabled_and_disagreeing_monitors_are_named(tmp_path: Path) -> None:
    path = tmp_path / "nr.json"
    path.write_text(json.dumps(newrelic(0.1)))
    (problem,) = mon.problems("newrelic", mon.read_export("newrelic", path), mon.REQUIRED)
    assert problem.startswith("monitor HighErrorRate fires at > 0.1, not > 0.05 or stricter")
    monitors = datadog()
    monitors[1]["options"] = {"thresholds": {"critical": 0.2}}  # query says 0.05
    path.write_text(json.dumps(monitors))
    (problem,) = mon.problems("datadog", mon.read_export("datadog", path), mon.REQUIRED)
    assert "HighErrorRate fires at > ?" in problem
    searches = splunk()
    searches["entry"][0]["content"]["disabled"] = True  # type: ignore[index]
    path.write_text(json.dumps(searches))
    (problem,) = mon.problems("splunk", mon.read_export("splunk", path), mon.REQUIRED)
    assert problem == "monitor InstanceDown is disabled or unscheduled: enable it"


def test_a_stricter_threshold_counts_and_tags_name_monitors() -> None:
    need = mon.Required("error_rate", "HighErrorRate", ">", 0.05, "5xx")
    assert need.accepts(">", 0.02) and need.accepts(">=", 0.05) and not need.accepts(">", 0.06)
    assert not need.accepts("<", 0.01)
    found = mon.Found(mon._names("Checkout 5xx", ["team:web", "monitor:error_rate"]), ">", 0.05)
    assert mon.problems("datadog", [found], [need]) == []


def test_bad_exports_and_required_lists_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "dd.json"
    bad.write_text("<html>login</html>")
    with pytest.raises(ActionError, match="is not valid"):
        mon.read_export("datadog", bad)
    with pytest.raises(UsageError, match="cannot read the datadog export"):
        mon.read_export("datadog", tmp_path / "absent.json")
    bad.write_text('[{"alert": "X"}]')
    with pytest.raises(UsageError, match="is not a list of"):
        mon.load_required(str(bad))


def test_regressions_name_both_numbers() -> None:
    base = {"request_rate": 100.0, "error_ratio": 0.01, "p90_latency_seconds": 0.2}
    assert fig.regressions(base, dict(base), 0.2, 0.01) == []
    worse = fig.regressions(
        base, {"request_rate": 50.0, "error_ratio": 0.05, "p90_latency_seconds": 0.3}, 0.2, 0.01
    )
    assert worse == [
        "request rate fell 50%: 50/s against 100/s",
        "error ratio rose to 5.00% from 1.00% (allowed +1.00 points)",
        "p90 latency rose 50%: 300 ms against 200 ms",
    ]


def test_budget_and_verdicts() -> None:
    day = 86400.0
    assert fig.Budget(0.95, 0.9, day).verdict((0.0, 0.0), 14.4, 6) == "ok"
    assert fig.Budget(0.95, 0.99, day).verdict((0.0, 0.0), 14.4, 6) == "exhausted"
    month = fig.Budget(0.9995, 0.999, 30 * day)
    assert month.burn_rate == pytest.approx(0.5) and month.remaining_ratio == pytest.approx(0.5)
    assert month.verdict((20.0, 3.0), 14.4, 6) == "fast-burn"
    assert month.verdict((2.0, 7.0), 14.4, 6) == "slow-burn"
    assert month.verdict((2.0, 3.0), 14.4, 6) == "ok"


def test_health_check_history(tmp_path: Path) -> None:
    history = tmp_path / "checks.log"
    history.write_text("# time state\n0 ok\n600 fail\n900 ok\n3600 ok\n")
    assert fig.history_availability(history, 0, 3600) == pytest.approx(1 - 300 / 3600)
    history.write_text("0 ok\n60 maybe\n")
    with pytest.raises(UsageError, match=r"checks\.log:2: expected"):
        fig.history_availability(history, 0, 3600)


def test_linear_projection_matches_predict_linear() -> None:
    points = [(float(t), 0.5 + 0.01 * t / 86400) for t in range(0, 7 * 86400, 3600)]
    slope, intercept = linear_fit(points)
    assert slope * 86400 == pytest.approx(0.01)
    assert crossing(slope, intercept, 0.85, 7 * 86400) == pytest.approx(35 * 86400)
    assert crossing(0.0, 0.5, 0.85, 0) is None
    with pytest.raises(ActionError, match="fewer than two samples"):
        linear_fit([(0.0, 1.0)])
    assert duration("7d") == 7 * 86400
    with pytest.raises(UsageError):
        duration("a week")


def test_capacity_report_lists_triggers_within_the_horizon() -> None:
    now = 1_800_000_000.0
    figures = [
        Figure("disk /var", 0.7, 0.85, 0.01, now + 15 * 86400),
        Figure("disk /srv", 0.2, 0.85, 0.001, now + 650 * 86400),
        Figure("load", 0.3, 1.0),
    ]
    text = report(figures, now, 30)
    assert "- disk /var reaches 85% on 2027-01-30" in text
    assert "/srv reaches" not in text
    assert "| load | 0.30 | 1.00 | - | - |" in text


def test_alerts_order_match_and_classify() -> None:
    alerts = [
        {"labels": {"alertname": "A", "severity": "warning"}, "startsAt": "2026-12-02T09:00:00Z"},
        {
            "labels": {"alertname": "B", "severity": "critical", "service": "x"},
            "startsAt": "2026-12-02T09:05:00Z",
        },
        {"labels": {"alertname": "C", "severity": "critical"}, "startsAt": "2026-12-02T08:00:00Z"},
    ]
    assert [a["labels"]["alertname"] for a in am.ordered(alerts)] == ["C", "B", "A"]
    assert [a["labels"]["alertname"] for a in am.matching(alerts, ["service=x"])] == ["B"]
    books = [
        {"labels": {"alertname": n, "runbook": r}} for n, r in [("A", "x"), ("B", "y"), ("C", "x")]
    ]
    assert [a["labels"]["alertname"] for a in am.first_group(books)] == ["A", "C"]
    assert am.first_group([]) == []
    policy = ob.IncidentPolicy()
    assert am.severity({"severity": "critical"}, "moderate", policy.classify) == "SEV2"
    assert (
        am.severity({"severity": "critical", "impact": "extensive"}, "minor", policy.classify)
        == "SEV1"
    )
    assert am.severity({"severity": "sev3"}, "minor", policy.classify) == "SEV3"
    with pytest.raises(ActionError, match="severity label 'urgent'"):
        am.severity({"alertname": "X", "severity": "urgent"}, "minor", policy.classify)
    assert am.matchers(alerts[0])[0] == {
        "name": "alertname",
        "value": "A",
        "isRegex": False,
        "isEqual": True,
    }


def test_alert_response_refuses_an_impact_the_policy_lacks_before_a_run(drill: Drill) -> None:
    with pytest.raises(ob.ParamsError, match="--impact: 'huge' is not an impact"):
        drill.run(
            "monitoring.alert_response", {"alertmanager": "http://127.0.0.1:9", "impact": "huge"}
        )
    journal = drill.journal()
    try:
        assert journal.runs() == []
    finally:
        journal.close()
    policy = {
        "impacts": ["huge"],
        "matrix": {"huge": dict.fromkeys(("critical", "high", "medium", "low"), "SEV1")},
    }
    params = AlertResponse.Params(alertmanager="http://127.0.0.1:9", impact="huge")
    AlertResponse.check_params(params, {"incidents": policy})  # a configured impact is fine


def test_state_files_live_in_the_run_state_directory(tmp_path: Path) -> None:
    from opsbooks_playbooks.actions import in_state_dir, state_dir

    assert state_dir({}) == Path(".opsbooks")  # no run: the current directory's
    assert state_dir({"OPSBOOKS_STATE_DIR": str(tmp_path)}) == tmp_path
    assert in_state_dir(Path("alerts-1.json"), {"OPSBOOKS_STATE_DIR": str(tmp_path)}) == (
        tmp_path / "alerts-1.json"
    )
    assert in_state_dir(tmp_path / "x.json", {"OPSBOOKS_STATE_DIR": "/elsewhere"}) == (
        tmp_path / "x.json"
    )
