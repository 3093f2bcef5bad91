"""The flowchart shows steps in order, branches as labelled edges, gates as diamonds."""

from __future__ import annotations

from every_kind import EveryKind
from keywords_book import StepKeywords

import opsbooks as ob
from opsbooks.edges.config import Contacts
from opsbooks.render import render_flow, render_runbook
from opsbooks.render.mermaid import label


def flow() -> list[str]:
    return render_flow(ob.plan(EveryKind)).splitlines()


def test_starts_as_top_down_flowchart() -> None:
    lines = flow()
    assert lines[0] == "flowchart TD"
    assert "    start --> step_stage" in lines
    assert "    step_record --> done" in lines


def test_nodes_in_step_order() -> None:
    nodes = [line.split("[")[0].split("{")[0].strip() for line in flow()[2:13]]
    assert nodes == [f"step_{s.id}" for s in EveryKind.steps]


def test_gates_are_diamonds_and_manual_steps_are_slanted() -> None:
    lines = flow()
    assert '    step_approve{"2. Approve"}' in lines
    assert any(line.startswith("    step_check_ticket[/") for line in lines)


def test_branch_edges_are_labelled() -> None:
    lines = flow()
    assert '    step_route -->|"high"| step_announce_risk' in lines
    assert '    step_route -->|"otherwise"| step_check_ticket' in lines
    assert not any(line.startswith("    step_route --> ") for line in lines)


def test_undo_edges_are_dashed() -> None:
    lines = flow()
    assert '    step_stage -.->|"undo"| step_unstage' in lines
    assert '    step_roll -.->|"undo"| step_undo_roll' in lines


def test_labels_escape_quotes_and_brackets() -> None:
    assert label('say "hi" <now>') == '"say #quot;hi#quot; #lt;now#gt;"'


def test_page_embeds_the_flow_in_a_mermaid_fence() -> None:
    page = render_runbook(EveryKind, Contacts())
    assert "```mermaid\n" + render_flow(ob.plan(EveryKind)) + "```" in page


def test_tagged_steps_show_their_tags_and_untagged_steps_do_not() -> None:
    lines = render_flow(ob.plan(StepKeywords)).splitlines()
    assert '    step_restart["4. Restart [restart, prod]"]' in lines
    assert '    step_migrate["5. Migrate [prod]"]' in lines
    assert '    step_login["1. Login"]' in lines  # no tags: no brackets
    assert not any("[]" in line for line in lines)
