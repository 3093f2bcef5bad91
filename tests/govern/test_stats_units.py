"""The pure parts of ``stats``: escalation rules, quantiles, ``--since`` and the missing
report extra. The figures from real runs are in test_governance_cli.py (slow).
"""

from __future__ import annotations

import sys

import pytest

from opsbooks.edges.charts import pyplot
from opsbooks.edges.cli.stats import since_epoch
from opsbooks.errors import BadInput
from opsbooks.govern.stats import BookFacts, RunHistory, compute
from opsbooks.plan.state import StepStatus
from opsbooks.records.journal.records import RunRecord, Transition
from opsbooks.render.operations_report import render_markdown, render_table, rows

DAY = 86_400.0
BOOKS = {
    "ops.restart": BookFacts(severity="high", related=("ops.failover",)),
    "ops.failover": BookFacts(severity="critical"),
}


def _run(run_id: str, runbook: str, start: float, outcome: str, **kw: object) -> RunHistory:
    record = RunRecord(
        run_id,
        runbook,
        "fp",
        {},
        {},
        "ann",
        "h",
        1,
        start,
        start + 60,
        outcome,
        **kw,  # type: ignore[arg-type]
    )
    return RunHistory(record)


def test_a_failure_followed_by_a_related_more_severe_run_escalated() -> None:
    runs = [
        _run("a", "ops.restart", 0, "failed"),
        _run("b", "ops.failover", 600, "succeeded"),
        _run("c", "ops.restart", 2 * DAY, "failed"),  # nothing followed it in the window
        _run("d", "ops.failover", 4 * DAY, "succeeded"),
    ]
    stats = compute(runs, BOOKS, since=0, until=5 * DAY)
    restart = stats.per_runbook["ops.restart"]
    assert (restart.finished, restart.escalated, restart.success_rate) == (2, 1, 0.0)
    assert stats.per_runbook["ops.failover"].escalated == 0


def test_a_linked_run_of_a_more_severe_runbook_escalated() -> None:
    parent = _run("p", "ops.restart", 0, "succeeded")
    linked = Transition(1, "p", "hand_over", StepStatus.RUNNING, 1.0, detail={"child_run": "k"})
    runs = [RunHistory(parent.record, (linked,)), _run("k", "ops.failover", 5, "succeeded")]
    assert compute(runs, BOOKS, since=0, until=DAY).per_runbook["ops.restart"].escalated == 1


def test_median_and_p90_are_durations_that_occurred() -> None:
    runs = [_run(str(i), "ops.restart", i * 1000.0, "succeeded") for i in range(10)]
    runs += [RunHistory(RunRecord("slow", "ops.restart", "fp", {}, {}, "a", "h", 1, 0, 900.0))]
    figures = compute(runs, BOOKS, since=0, until=DAY).per_runbook["ops.restart"]
    assert (figures.median_seconds, figures.p90_seconds) == (60.0, 60.0)
    assert compute(runs, BOOKS, since=0, until=DAY).overall.runs == 11


def test_a_runbook_never_run_nor_changed_still_has_its_row_with_0_runs() -> None:
    stats = compute([_run("a", "ops.restart", 0, "succeeded")], BOOKS, since=0, until=DAY)
    assert stats.per_runbook["ops.failover"].commits is None  # no git history either
    table = {row[0]: row for row in rows(stats)}
    assert list(table) == ["ops.failover", "ops.restart", "(all)"]
    assert table["ops.failover"][1:3] == ("0", "-")  # the gap: in the catalog, never run
    assert "ops.failover " in render_table(stats)
    assert "| ops.failover | 0 | - |" in render_markdown(stats, {})


def test_since_takes_a_duration_or_a_date() -> None:
    assert since_epoch("90d", 100 * DAY) == 10 * DAY
    assert since_epoch("1970-01-02", 0) == DAY
    with pytest.raises(BadInput, match="neither a duration nor a date"):
        since_epoch("soon", 0)


def test_markdown_without_matplotlib_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an absent extra looks like
    with pytest.raises(BadInput, match=r"pip install 'opsbooks\[report\]'") as caught:
        pyplot()
    assert caught.value.exit_code == 2
