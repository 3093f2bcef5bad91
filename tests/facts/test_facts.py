"""Facts: ``marks=`` milestones and ``::fact`` lines become journal rows, audit lines and
report facts, credited to who did them; never from a failed step, never a secret."""

from __future__ import annotations

import datetime as dt
import json

import pytest

import opsbooks as ob
from opsbooks.define.contacts import Contacts
from opsbooks.records.facts import fact_lines, parse_time
from opsbooks.render.markdown import render_runbook
from opsbooks.testing import Drill


class Incidentish(ob.Runbook):
    """Record an incident's milestones."""

    scope = "tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        token: ob.SecretStr = ob.Field(ob.SecretStr("s3cr3t-value"), description="a secret")
        fail_mitigation: bool = ob.Field(False, description="make the mitigation fail")

    acknowledge = ob.Gate.confirm("Acknowledge?", marks="incident.acknowledged")

    @ob.step(title="Classify")
    def classify(self, ctx: ob.StepContext) -> str:
        token = ctx.params.token.get_secret_value()  # type: ignore[attr-defined]
        return (
            "::fact incident.severity=SEV2\n"
            "::fact incident.detected @2026-12-02T09:00:00Z\n"
            f"::fact incident.reporter=reported with {token}\n"
        )

    @ob.step(title="Mitigate", marks=("incident.mitigated",))
    def mitigate(self, ctx: ob.StepContext) -> None:
        if ctx.params.fail_mitigation:  # type: ignore[attr-defined]
            raise RuntimeError("the mitigation did not take")

    resolve = ob.Gate.confirm("Resolved?", marks=("incident.resolved",))


def test_marks_and_fact_lines_are_journaled_with_who_and_when(drill: Drill) -> None:
    drill.runbooks = (Incidentish,)
    result = drill.run(Incidentish, answers={"acknowledge": True, "resolve": True})
    result.assert_succeeded()
    names = [f.name for f in result.facts]
    assert names == [
        "incident.acknowledged",
        "incident.severity",
        "incident.detected",
        "incident.reporter",
        "incident.mitigated",
        "incident.resolved",
    ]
    severity = result.fact("incident.severity")
    assert severity is not None and severity.value == "SEV2" and severity.step_id == "classify"
    detected = result.fact("incident.detected")
    assert detected is not None and detected.value is None
    assert detected.at == dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC).timestamp()
    ack = result.fact("incident.acknowledged")
    gate = next(g for g in result.gates if g.step_id == "acknowledge")
    assert ack is not None and ack.who == gate.approver and ack.at == gate.answered_at
    mitigated = result.fact("incident.mitigated")
    assert mitigated is not None and mitigated.who == "drill"


def test_a_secret_never_reaches_a_fact_the_audit_or_the_console(drill: Drill) -> None:
    drill.runbooks = (Incidentish,)
    result = drill.run(Incidentish, answers={"acknowledge": True, "resolve": True})
    reporter = result.fact("incident.reporter")
    assert reporter is not None and "s3cr3t-value" not in str(reporter.value)
    audit = result.audit_path.read_text()
    assert "s3cr3t-value" not in audit and "s3cr3t-value" not in result.output
    events = [json.loads(line) for line in audit.splitlines()]
    recorded = [e for e in events if e.get("event") == "fact"]
    assert [e["fact"] for e in recorded][:2] == ["incident.acknowledged", "incident.severity"]
    assert "recorded incident.severity = SEV2" in result.output
    result.assert_audit_intact()


def test_a_failed_step_marks_nothing_and_resume_does_not_record_twice(drill: Drill) -> None:
    drill.runbooks = (Incidentish,)
    drill.environ = {"OPSBOOKS_SECRET_TOKEN": "s3cr3t-value"}  # a secret is never stored
    answers = {"acknowledge": True, "resolve": True}
    failed = drill.run(
        Incidentish, answers=answers, fail={"mitigate": "injected"}, no_rollback=True
    )
    assert failed.outcome == "failed"
    assert "incident.mitigated" not in [f.name for f in failed.facts]
    resumed = drill.resume(failed.run_id, answers=answers)
    resumed.assert_succeeded()
    names = [f.name for f in resumed.facts]
    assert names.count("incident.acknowledged") == 1 and names.count("incident.mitigated") == 1
    assert names[-1] == "incident.resolved"


def test_fact_lines_parse_values_times_and_keep_a_bad_time_as_none() -> None:
    found = fact_lines(
        "noise\n::fact a.b=1 2 3\n  ::fact c @2026-01-01T00:00:00+01:00\n::fact d @notatime\n"
        "::fact Bad=1\n::metric x=1\n"
    )
    assert [(f.name, f.value) for f in found] == [("a.b", "1 2 3"), ("c", None), ("d", None)]
    assert found[1].at == dt.datetime(2025, 12, 31, 23, tzinfo=dt.UTC).timestamp()
    assert found[2].at is None
    assert parse_time("2026-12-02T09:00:00") == parse_time("2026-12-02T09:00:00Z")


def test_a_mark_that_is_not_a_fact_name_is_a_definition_error() -> None:
    with pytest.raises(ob.DefinitionError, match="is not a fact name"):

        class Bad(ob.Runbook):
            """Bad."""

            scope = "tests"
            owner = "sre"
            last_reviewed = "2026-12-02"
            ack = ob.Manual("Do it", marks="Incident Acknowledged")


def test_the_page_says_what_a_step_records() -> None:
    page = render_runbook(Incidentish, Contacts())
    assert "**Records:** `incident.acknowledged`: the time it succeeds, and who" in page


def test_the_run_report_lists_the_facts(drill: Drill) -> None:
    from opsbooks.render.report import render_markdown, report_data

    drill.runbooks = (Incidentish,)
    result = drill.run(Incidentish, answers={"acknowledge": True, "resolve": True})
    data = report_data(result.record, result.transitions, result.gates, [], {}, facts=result.facts)
    report = render_markdown(data)
    facts = report.split("## Facts", 1)[1].split("\n## ", 1)[0]
    assert "| `incident.severity` | SEV2 |" in facts
    assert "| `incident.detected` |  | 2026-12-02 09:00:00 UTC | drill | `classify` |" in facts
