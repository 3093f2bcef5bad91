"""The golden page of a runbook using expressions, answers and the run id in templates.

Refreshed only by ``pytest tests/expressions --update-golden`` (the suite's documented
flag); review the diff of ``tests/golden/expr.canary.md`` like code.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from exprbooks.canary import Canary

from opsbooks.edges.config import Contacts
from opsbooks.render import render_runbook

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / f"{Canary.name}.md"
CONTACTS = Contacts(L1="Ops on-call (#ops-oncall)", L2="Platform on-call", L3="Engineering lead")


def test_the_canary_page_matches_its_golden_file(update_golden: bool) -> None:
    page = render_runbook(Canary, CONTACTS)
    if update_golden:
        GOLDEN.write_text(page, encoding="utf-8")
        return
    assert GOLDEN.is_file(), "no golden page: run `pytest tests/expressions --update-golden`"
    expected = GOLDEN.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), page.splitlines(keepends=True), "golden", "page"
        )
    )
    assert page == expected, f"the page differs from {GOLDEN.name}:\n{diff}"
