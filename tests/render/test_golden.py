"""Golden pages: the rendered Markdown of every playbook and of a synthetic runbook.

On an intended rendering change run ``pytest tests/render --update-golden`` and review
the diff of ``tests/golden/`` like code.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from every_kind import EveryKind
from gate_options_book import GateOptions
from keywords_book import StepKeywords
from remote_context_book import RemoteContext
from sections_book import Sections
from subrun_book import LinkedRelease

from opsbooks.define.runbook import Runbook
from opsbooks.edges.config import Contacts
from opsbooks.edges.discovery import discover
from opsbooks.render import render_runbook

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
CONTACTS = Contacts(
    L1="Ops on-call (#ops-oncall)",
    L2="Platform on-call (#platform)",
    L3="Engineering lead",
)
RUNBOOKS: list[type[Runbook]] = [
    *discover(["opsbooks_playbooks"]).all(),
    EveryKind,
    GateOptions,
    Sections,
    RemoteContext,
    StepKeywords,
    LinkedRelease,
]


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=lambda rb: rb.name)
def test_page_matches_golden(runbook: type[Runbook], update_golden: bool) -> None:
    page = render_runbook(runbook, CONTACTS)
    golden = GOLDEN / f"{runbook.name}.md"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(page, encoding="utf-8")
        return
    if not golden.is_file():
        pytest.fail(
            f"no golden page {golden.relative_to(GOLDEN.parent.parent)} for {runbook.name}; "
            f"run `pytest tests/render --update-golden` and review the new file"
        )
    expected = golden.read_text(encoding="utf-8")
    if page != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                page.splitlines(keepends=True),
                fromfile=f"golden/{golden.name}",
                tofile="rendered",
            )
        )
        pytest.fail(
            f"rendered page of {runbook.name} differs from its golden file:\n{diff}\n"
            f"If the change is intended, run `pytest tests/render --update-golden`."
        )


def test_every_playbook_has_a_golden_test() -> None:
    assert {rb.name for rb in discover(["opsbooks_playbooks"])} <= {rb.name for rb in RUNBOOKS}
    assert "security.incident_response" in {rb.name for rb in RUNBOOKS}
