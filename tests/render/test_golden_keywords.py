"""The golden page of a runbook using every shared step keyword (note, tags, on_failure,
setup, rerun_on_resume, quiet). Refresh it with ``pytest tests/render --update-golden``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from keywords_book import StepKeywords

from opsbooks.edges.config import Contacts
from opsbooks.render import render_runbook

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / f"{StepKeywords.name}.md"


def test_the_keywords_page_matches_its_golden_file(update_golden: bool) -> None:
    page = render_runbook(StepKeywords, Contacts(L1="Ops on-call"))
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


def test_the_page_shows_each_keyword_where_the_step_sets_it() -> None:
    page = render_runbook(StepKeywords, Contacts())
    assert "- **Note at run time:** Restarting {app} {outputs.version} on {host.name}..." in page
    assert "- **Tags:** `restart`, `prod`" in page
    assert "- **If it fails:** the run goes on (a non-critical step)" in page
    assert "- **If it fails:** the run stops here without a rollback" in page
    assert "- **Setup:** runs on every run and every resume" in page
    assert "- **Re-run on resume:** a read-only probe" in page
    assert "- **Quiet:** its output is kept off the console" in page
