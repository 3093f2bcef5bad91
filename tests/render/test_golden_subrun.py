"""The golden page of a runbook with a linked run (``SubRun``). Refresh it with
``pytest tests/render --update-golden``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from subrun_book import LinkedRelease

from opsbooks.edges.config import Contacts
from opsbooks.render import render_runbook

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / f"{LinkedRelease.name}.md"


def test_the_linked_run_page_matches_its_golden_file(update_golden: bool) -> None:
    page = render_runbook(LinkedRelease, Contacts(L1="Ops on-call"))
    if update_golden:
        GOLDEN.write_text(page, encoding="utf-8")
        return
    expected = GOLDEN.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), page.splitlines(keepends=True), "golden", "page"
        )
    )
    assert page == expected, f"{diff}\nIf intended: `pytest tests/render --update-golden`"


def test_the_page_links_the_child_page_and_draws_a_subroutine() -> None:
    page = render_runbook(LinkedRelease, Contacts())
    assert "**Linked run** · step id `migrate`" in page
    assert (
        "Starts a linked run of [`fixtures.migrate_database`](../fixtures/migrate_database.md)"
        in page
    )
    assert "- `db` = `app_{env}`" in page
    assert 'step_migrate[["2. Migrate the database"]]' in page
