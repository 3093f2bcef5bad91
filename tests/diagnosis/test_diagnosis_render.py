"""How a troubleshooting tree renders: the leaves on the page, the Mermaid flowchart
(a decision fanning out to terminal leaves, no edge on from a leaf), the dry run's
list of leaves, and the golden page of ``fixtures.diagnosis_tree``."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
from diagbooks.pg_reach import PgReach
from diagbooks.web_down import WebDown

from opsbooks.define.contacts import Contacts
from opsbooks.plan.binding import plan
from opsbooks.render import render_runbook
from opsbooks.render.dryrun import render_dry_run
from opsbooks.render.mermaid import render_flow

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "fixtures.diagnosis_tree.md"
CONTACTS = Contacts(L1="Ops on-call (#ops-oncall)", L2="Platform on-call (#platform)")
EDGE = re.compile(r"^\s+(\S+) -->(?:\|(.+?)\|)? (\S+)$")


def _edges(flow: str) -> list[tuple[str, str, str]]:
    found = [EDGE.match(line) for line in flow.splitlines()]
    return [(m.group(1), m.group(2) or "", m.group(3)) for m in found if m]


def test_the_flow_fans_out_from_the_decision_to_terminal_leaves() -> None:
    flow = render_flow(plan(PgReach))
    assert 'step_decide{{"3. Which probe failed?"}}' in flow
    assert 'step_dns_failed(["4. {host} does not resolve"])' in flow
    assert 'the fault is in the client (escalate to L2)"])' in flow
    edges = _edges(flow)
    from_decision = [(label, target) for source, label, target in edges if source == "step_decide"]
    assert from_decision == [
        ("\"outputs.dns == 'fail'\"", "step_dns_failed"),
        ("\"outputs.pg_status == '2'\"", "step_not_listening"),
        ("\"outputs.pg_status == '1'\"", "step_rejecting"),
        ('"otherwise"', "step_path_or_client"),
    ]
    leaves = {"step_dns_failed", "step_not_listening", "step_rejecting", "step_path_or_client"}
    assert not [e for e in edges if e[0] in leaves]  # a leaf ends the run: nothing after it
    assert "class step_path_or_client escalation" in flow
    assert "class step_rejecting diagnosis" in flow


def test_a_step_after_the_leaves_is_drawn_but_no_leaf_leads_to_it() -> None:
    edges = _edges(render_flow(plan(WebDown)))
    assert [e for e in edges if e[2] == "step_after"] == []
    assert ("step_after", "", "done") in edges


def test_the_page_shows_finding_resolution_and_commands() -> None:
    page = render_runbook(PgReach, CONTACTS)
    assert "**Diagnosis** · step id `not_listening`" in page
    assert "Finding: **Nothing answers on {host}:{port}**" in page
    assert "```sh\nss -ltn sport = :{port}\nsystemctl status postgresql\n```" in page
    assert "Escalate to **L2**" in page
    assert "3. `outputs.pg_status == '1'` → [The server rejects connections]" in page


def test_the_dry_run_lists_the_leaves_with_bound_findings() -> None:
    text = render_dry_run(plan(PgReach, PgReach.Params(host="db1.internal", port=6432)))
    assert "  4. dns_failed: The name does not resolve [diagnosis: ends the run]" in text
    assert "       shows (not run): $ getent hosts db1.internal" in text
    assert text.rstrip().endswith(
        "Diagnoses (the run ends at the first one it reaches):\n"
        "  dns_failed: db1.internal does not resolve\n"
        "  not_listening: Nothing answers on db1.internal:6432\n"
        "  rejecting: PostgreSQL on db1.internal:6432 rejects connections (starting, stopping "
        "or recovering)\n"
        "  path_or_client: PostgreSQL on db1.internal:6432 accepts connections: the fault is "
        "in the client (escalates to L2)"
    )


def test_the_tree_page_matches_its_golden(update_golden: bool) -> None:
    page = render_runbook(PgReach, CONTACTS)
    if update_golden:
        GOLDEN.write_text(page, encoding="utf-8")
        return
    if not GOLDEN.is_file():
        pytest.fail("no golden page: run `pytest tests/diagnosis --update-golden` and review it")
    expected = GOLDEN.read_text(encoding="utf-8")
    if page != expected:
        diff = "".join(
            difflib.unified_diff(expected.splitlines(keepends=True), page.splitlines(keepends=True))
        )
        pytest.fail(f"the page of {PgReach.name} differs from its golden file:\n{diff}")
