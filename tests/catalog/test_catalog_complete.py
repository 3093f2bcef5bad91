"""The house catalog as a whole: the categories the seeds ask for, at least 30 runbooks,
every one run by a test, every troubleshooting page with its tree. (That every page is
current is `opsbooks docs --check`, in the test command.)"""

from __future__ import annotations

import re
from pathlib import Path

from opsbooks.define.contacts import Contacts
from opsbooks.edges.discovery import discover
from opsbooks.render.catalog import render_catalog

TESTS = Path(__file__).resolve().parents[1]
CATEGORIES = {
    "release",
    "incident",
    "security",
    "support",
    "troubleshoot",
    "monitoring",
    "change",
    "maintenance",
    "backup",
    "dr",
}


def _catalog() -> list[type]:
    return list(discover(["opsbooks_playbooks"]))


def test_the_catalog_covers_every_category_with_at_least_30_runbooks() -> None:
    books = _catalog()
    assert len(books) >= 30, [b.name for b in books]
    assert {b.category for b in books} >= CATEGORIES


def test_every_runbook_is_run_by_a_test() -> None:
    """A runbook a test starts (drill.run / opsbooks run / invoke) by name or by class;
    a runbook added without one fails here, naming it."""
    sources = "\n".join(
        p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py") if p != Path(__file__)
    )
    missing = []
    for book in _catalog():
        by_name = re.search(rf"[\"']{re.escape(book.name)}[\"']", sources)
        by_class = re.search(rf"\b{book.__name__}\b", sources)
        if not (by_name or by_class):
            missing.append(book.name)
    assert not missing, f"no test runs {missing}"


def test_each_troubleshooting_page_draws_its_tree_with_labelled_leaves() -> None:
    books = [b for b in _catalog() if b.category == "troubleshoot"]
    pages = render_catalog(books, Contacts())
    assert len(books) == 5
    for book in books:
        page = pages[f"troubleshoot/{book.__module__.rsplit('.', 1)[1]}.md"]
        flow = page.split("```mermaid", 1)[1].split("```", 1)[0]
        assert "flowchart" in flow, book.name
        leaves = [step for step in book.steps if step.kind == "diagnosis"]
        assert len(leaves) >= 4, book.name
        for leaf in leaves:
            assert leaf.id in flow, f"{book.name}: leaf {leaf.id} is not in the flowchart"
