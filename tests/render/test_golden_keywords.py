"""How the shared step keywords (note, tags, on_failure, setup, rerun_on_resume, quiet)
render; the golden page is checked with the others in ``test_golden.py``.
"""

from __future__ import annotations

from keywords_book import StepKeywords

from opsbooks.edges.config import Contacts
from opsbooks.render import render_runbook


def test_the_page_shows_each_keyword_where_the_step_sets_it() -> None:
    page = render_runbook(StepKeywords, Contacts())
    assert "- **Note at run time:** Restarting {app} {outputs.version} on {host.name}..." in page
    assert "- **Tags:** `restart`, `prod`" in page
    assert "- **If it fails:** the run goes on (a non-critical step)" in page
    assert "- **If it fails:** the run stops here without a rollback" in page
    assert "- **Setup:** runs on every run and every resume" in page
    assert "- **Re-run on resume:** a read-only probe" in page
    assert "- **Quiet:** its output is kept off the console" in page
