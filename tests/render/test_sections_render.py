"""Sections in every view: the page, the dry run, the Mermaid flow, the report and the
console heading lines. The page itself is pinned by tests/golden/fixtures.sections.md."""

from __future__ import annotations

import io

from sections_book import Sections

from opsbooks.edges.console import Console
from opsbooks.plan.binding import plan
from opsbooks.records.events import StepSections, StepStarted
from opsbooks.records.redaction import Redactor
from opsbooks.render.dryrun import render_dry_run
from opsbooks.render.mermaid import render_flow
from opsbooks.render.report import render_markdown
from opsbooks.render.sections import Headings, section_titles


def test_the_dry_run_heads_each_section_and_numbers_its_steps() -> None:
    text = render_dry_run(plan(Sections, Sections.Params(target="web7")))
    lines = text.splitlines()
    start = lines.index("  2. drain: Drain the host [section]")
    assert lines[start + 1] == "  2.1. drain.approve: Approve [gate: a person decides]"
    assert "    2.3.1. drain.wait.idle: Idle [wait]" in lines
    assert "  3. restart: Restart Nginx [includes fixtures.restart_nginx]" in lines
    assert "         $ ssh web7 service nginx stop" in lines  # the include's param, bound
    assert "  4. undrain: Put the host back [automated]" in lines


def test_the_flow_draws_a_subgraph_per_section_with_safe_node_ids() -> None:
    flow = render_flow(plan(Sections))
    assert '    subgraph section_drain["2. Drain the host"]' in flow
    assert '      subgraph section_drain__wait["2.3. Wait for connections to end"]' in flow
    assert flow.count("subgraph ") == flow.count(" end\n") == 3
    assert "step_drain__wait__idle --> step_restart__stop" in flow
    assert "step_drain.take_out" not in flow  # no dot in a Mermaid node id


def test_the_report_puts_a_bold_row_before_each_section() -> None:
    titles = section_titles(plan(Sections))
    assert titles == {
        "drain": "2. Drain the host",
        "drain.wait": "2.3 Wait for connections to end",
        "restart": "3. Restart Nginx",
    }
    steps = [
        {"step": sid, "status": "succeeded", "command": None}
        for sid in ("announce", "drain.approve", "drain.wait.idle", "restart.stop", "undrain")
    ]
    run = {
        "id": "r1",
        "runbook": Sections.name,
        "outcome": "succeeded",
        "failed_step": None,
        "who": "unit",
        "host": "h",
        "started_at": 0.0,
        "ended_at": 1.0,
        "fingerprint": "f",
        "reason": None,
        "metrics": {},
        "params": {},
    }
    data = {"run": run, "steps": steps, "gates": [], "hosts": [], "sections": titles}
    rows = [line for line in render_markdown(data).splitlines() if line.startswith("| ")]
    assert rows[2:8] == [
        "| `announce` | succeeded |  |  |  |  |",
        "| **2. Drain the host** | | | | | |",
        "| `drain.approve` | succeeded |  |  |  |  |",
        "| **2.3 Wait for connections to end** | | | | | |",
        "| `drain.wait.idle` | succeeded |  |  |  |  |",
        "| **3. Restart Nginx** | | | | | |",
    ]
    assert rows[9] == "| `undrain` | succeeded |  |  |  |  |"


def test_the_console_prints_a_section_heading_once_as_the_section_starts() -> None:
    out = io.StringIO()
    console = Console(out, Redactor([]))
    for step, headings in [
        ("drain.approve", ("2. Drain the host",)),
        ("drain.take_out", ("2. Drain the host",)),
        ("drain.wait.idle", ("2. Drain the host", "2.3 Wait for connections to end")),
        ("restart.stop", ("3. Restart Nginx",)),
    ]:
        console(StepSections(step, headings))
        console(StepStarted(step, "command", step, 1, 9, None))
    lines = out.getvalue().splitlines()
    assert [line for line in lines if "==" in line] == [
        "== 2. Drain the host ==",
        "  == 2.3 Wait for connections to end ==",
        "== 3. Restart Nginx ==",
    ]
    assert lines[0] == "== 2. Drain the host ==" and lines[1].startswith("[1/9] drain.approve")


def test_headings_print_again_after_leaving_a_section() -> None:
    seen = Headings()
    assert seen.lines(("1. A",)) == "== 1. A =="
    assert seen.lines(("1. A",)) is None
    assert seen.lines(()) is None
    assert seen.lines(("1. A",)) == "== 1. A =="
