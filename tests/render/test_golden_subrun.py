"""How a runbook with a linked run (``SubRun``) renders; its golden page is checked
with the others in ``test_golden.py``.
"""

from __future__ import annotations

from subrun_book import LinkedRelease

from opsbooks.edges.config import Contacts
from opsbooks.render import render_runbook


def test_the_page_links_the_child_page_and_draws_a_subroutine() -> None:
    page = render_runbook(LinkedRelease, Contacts())
    assert "**Linked run** · step id `migrate`" in page
    assert (
        "Starts a linked run of [`fixtures.migrate_database`](../fixtures/migrate_database.md)"
        in page
    )
    assert "- `db` = `app_{env}`" in page
    assert 'step_migrate[["2. Migrate the database"]]' in page
