"""``Diagnosis`` leaves through the engine (Python probes, no subprocess): each leaf of a
three-leaf tree is reached, the run ends there and succeeds, later steps are skipped with
the reason, the facts are journaled, a resume after the end runs nothing, and an
escalation leaf names its contact (without one, the run starts with a notice naming the
config to add, in the table the config file spells, and the leaf says so when reached)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from diagbooks.web_down import WebDown

import opsbooks as ob
from opsbooks.edges.config import load_config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.requests import Invocation, Surroundings
from opsbooks.edges.session import start_run
from opsbooks.run.options import RunOptions
from opsbooks.testing import Drill, DrillResult

CONTACTS = {"contacts": {"L2": "web-oncall@example.com (pager web-l2)"}}
LEAVES = ("dns_failed", "tls_failed", "unknown")
FINDINGS = {
    "dns_failed": "Name resolution fails for shop.example.internal",
    "tls_failed": "The TLS handshake with shop.example.internal fails",
    "unknown": "No known cause found for shop.example.internal",
}
VERDICTS = {
    "dns_failed": {"dns_state": "fail", "tls_state": "fail"},  # the first case wins
    "tls_failed": {"tls_state": "fail"},
    "unknown": {},
}


def _run(drill: Drill, **params: str) -> DrillResult:
    drill.runbooks = (WebDown,)
    drill.settings = CONTACTS
    return drill.run(WebDown, params)


def _reasons(result: DrillResult) -> dict[str, str]:
    return {t.step_id: t.reason or "" for t in result.transitions if t.status.value == "skipped"}


@pytest.mark.parametrize("leaf", LEAVES)
def test_each_leaf_ends_the_run_successfully_with_its_finding(drill: Drill, leaf: str) -> None:
    result = _run(drill, **VERDICTS[leaf])
    result.assert_succeeded()
    result.assert_succeeded_step(leaf)
    for other in set(LEAVES) - {leaf}:
        result.assert_not_ran(other)
    result.assert_not_ran("after")  # the Notify after the tree is never sent
    assert f"diagnosis: {FINDINGS[leaf]}" in result.output
    assert f"the run ended at diagnosis {leaf}: {FINDINGS[leaf]}" in result.output
    fact, finding = result.fact("diagnosis"), result.fact("diagnosis.finding")
    assert fact is not None and fact.value == leaf and fact.step_id == leaf
    assert finding is not None and finding.value == FINDINGS[leaf]
    assert result.report.diagnosis == leaf and result.report.finding == FINDINGS[leaf]
    detail = next(t.detail for t in result.transitions if t.step_id == leaf and t.detail)
    assert detail["diagnosis"] == leaf
    result.assert_audit_intact()


def test_skip_reasons_tell_a_route_from_the_end_at_a_leaf(drill: Drill) -> None:
    result = _run(drill, tls_state="fail")
    assert _reasons(result) == {
        "dns_failed": "branch routed to tls_failed",
        "unknown": "the run ended at diagnosis tls_failed",
        "after": "the run ended at diagnosis tls_failed",
    }
    assert "after: skipped (the run ended at diagnosis tls_failed)" in result.output


def test_the_commands_are_shown_templated_and_never_run(drill: Drill) -> None:
    result = _run(drill, dns_state="fail")
    assert "resolution: Check /etc/resolv.conf and the resolver's health." in result.output
    assert "$ getent hosts shop.example.internal" in result.output
    assert "$ resolvectl status" in result.output
    leaf = [t for t in result.transitions if t.step_id == "dns_failed"]
    assert all("command" not in t.detail for t in leaf)  # nothing was run as the step


def test_an_escalation_leaf_names_the_contact_and_records_the_level(drill: Drill) -> None:
    result = _run(drill)
    result.assert_succeeded()
    assert "escalate to L2: web-oncall@example.com (pager web-l2)" in result.output
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"
    assert result.fact("diagnosis") is not None


def test_an_escalation_to_a_level_without_a_contact_starts_with_a_notice(drill: Drill) -> None:
    drill.runbooks = (WebDown,)
    drill.settings = {"contacts": {"L1": "someone"}}
    result = drill.run(WebDown)  # no verdict: the unknown leaf, which escalates to L2
    result.assert_succeeded()
    notice = "no contact is configured for the escalation level(s) L2 (from unknown)"
    advice = 'add L2 = "name, phone or pager" under [contacts] in opsbooks.toml'
    assert notice in result.output and advice in result.output
    assert result.output.index(notice) < result.output.index("diagnosis: No known cause")
    assert f"escalate to L2: no contact is configured; {advice}" in result.output
    assert result.report.diagnosis == "unknown"
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"
    result.assert_not_ran("after")  # it still ends the run at the diagnosis
    result.assert_audit_intact()


def test_a_leaf_that_does_not_escalate_runs_as_ever_under_the_notice(drill: Drill) -> None:
    drill.runbooks = (WebDown,)
    drill.settings = {"contacts": {"L1": "someone"}}
    result = drill.run(WebDown, {"dns_state": "fail"})
    result.assert_succeeded()
    assert "L2 (from unknown)" in result.output  # said at the start, whatever the leaf
    assert result.report.diagnosis == "dns_failed" and result.fact("escalated") is None
    assert "escalate to" not in result.output


@pytest.mark.parametrize(
    ("file", "text", "table"),
    [
        ("opsbooks.toml", '[contacts]\nL1 = "someone"\n', "[contacts] in opsbooks.toml"),
        (
            "pyproject.toml",
            '[tool.opsbooks.contacts]\nL1 = "someone"\n',
            "[tool.opsbooks.contacts] in pyproject.toml",
        ),
    ],
)
def test_the_advice_names_the_table_as_the_config_file_spells_it(
    tmp_path: Path, file: str, text: str, table: str
) -> None:
    (tmp_path / file).write_text(text)
    config = load_config(tmp_path)
    assert config.source == str(tmp_path / file)
    out = io.StringIO()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=out,
        environ={"OPSBOOKS_USER": "drill"},
        interactive=False,
        install_signal_handlers=False,
    )
    invocation = Invocation(runbook=WebDown.name, params={}, options=RunOptions())
    report = start_run(invocation, config, surroundings, Catalog([WebDown]))
    assert report is not None and report.diagnosis == "unknown"
    advice = f'add L2 = "name, phone or pager" under {table}'
    shown = out.getvalue()
    assert (
        f"L2 (from unknown): a run that ends there says to escalate but not to whom; {advice}"
        in shown
    )
    assert f"escalate to L2: no contact is configured; {advice}" in shown


def test_resume_after_a_crash_at_the_leaf_runs_nothing_after_it(drill: Drill) -> None:
    first = _run(drill, tls_state="fail")
    # the state a crash right after the leaf succeeded leaves: later steps never recorded
    db = sqlite3.connect(drill.root / ".opsbooks" / "journal.db")
    with db:
        db.execute(
            "DELETE FROM transitions WHERE run_id = ? AND step_id IN ('unknown', 'after')",
            (first.run_id,),
        )
        db.execute("UPDATE runs SET outcome = 'interrupted' WHERE id = ?", (first.run_id,))
    db.close()
    resumed = drill.resume(first.run_id)
    resumed.assert_succeeded()
    assert resumed.history("unknown") == ["skipped"]
    assert resumed.history("after") == ["skipped"]
    assert _reasons(resumed)["after"] == "the run ended at diagnosis tls_failed"
    assert resumed.history("tls_failed") == ["running", "succeeded"]  # not run again
    assert resumed.report.diagnosis == "tls_failed"


class InOrder(ob.Runbook):
    """Leaves reached in order, without a branch: a false ``when=`` passes a leaf by."""

    name = "diag.in_order"
    scope = "tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        full: bool = ob.Field(False, description="whether the disk is full")

    disk_full = ob.Diagnosis("The disk is full", resolution="Free space.", when="full")
    fine = ob.Diagnosis("Nothing is wrong with the disk")
    after = ob.Notify("never sent")


@pytest.mark.parametrize(("full", "leaf"), [(True, "disk_full"), (False, "fine")])
def test_a_leaf_reached_in_order_ends_the_run_unless_its_when_is_false(
    drill: Drill, full: bool, leaf: str
) -> None:
    drill.runbooks = (InOrder,)
    result = drill.run(InOrder, {"full": full})
    result.assert_succeeded()
    assert result.report.diagnosis == leaf
    result.assert_not_ran("after")
    if not full:
        result.assert_skipped("disk_full")  # its when= was false: the run went on
        assert _reasons(result)["after"] == "the run ended at diagnosis fine"
    else:
        assert _reasons(result)["fine"] == "the run ended at diagnosis disk_full"
