"""The review edit through libcst: only the two statements change, in the file's own style."""

from __future__ import annotations

import textwrap

import pytest

from opsbooks.errors import BadInput
from opsbooks.govern.review_edit import Review, review_source, unified_diff

REVIEW = Review(reviewer="Bea", date="2026-12-01", notes='checked the "restore" path')


def _edit(source: str, name: str = "Book") -> str:
    return review_source(textwrap.dedent(source), name, REVIEW)


def test_date_and_change_are_set_and_everything_else_is_kept() -> None:
    before = textwrap.dedent(
        """\
        import opsbooks as ob  # the facade


        class Book(ob.Runbook):
            '''Do it.'''

            # reviewed monthly
            last_reviewed = '2026-01-01'   # odd spacing kept
            changelog = [
                ob.Change("2026-01-01", "First"),  # first entry
            ]
            steps_note = "unchanged"
        """
    )
    after = review_source(before, "Book", REVIEW)
    diff = unified_diff(before, after, "book.py")
    assert "-    last_reviewed = '2026-01-01'   # odd spacing kept" in diff
    assert "+    last_reviewed = '2026-12-01'   # odd spacing kept" in diff
    added = 'ob.Change("2026-12-01", "Reviewed: checked the \\"restore\\" path", author="Bea"),'
    assert f"+        {added}" in diff
    assert sum(line.startswith(("+", "-")) for line in diff.splitlines()) == 5  # 2 files + 3
    assert "# first entry" in after and "import opsbooks as ob  # the facade" in after
    compile(after, "book.py", "exec")


def test_a_one_line_changelog_grows_into_one_entry_a_line() -> None:
    after = _edit(
        """\
        import opsbooks as ob
        class Book(ob.Runbook):
            last_reviewed = "2026-01-01"
            changelog = [ob.Change("2026-01-01", "First version of this runbook for the shop")]
        """
    )
    assert '    changelog = [\n        ob.Change("2026-01-01"' in after
    assert after.rstrip().endswith('author="Bea"),\n    ]')


def test_tuple_assignment_missing_changelog_and_from_import() -> None:
    after = _edit(
        """\
        from opsbooks import Change, Runbook
        class Book(Runbook):
            '''Doc.'''
            scope, owner, last_reviewed = "Shop.", "SRE", "2026-01-01"
        """
    )
    assert 'scope, owner, last_reviewed = "Shop.", "SRE", "2026-12-01"' in after
    assert 'changelog = [Change("2026-12-01", ' in after
    compile(after, "book.py", "exec")


def test_a_class_not_found_or_a_broken_file_is_bad_input() -> None:
    with pytest.raises(BadInput, match="no class Other"):
        _edit("class Book:\n    pass\n", "Other")
    with pytest.raises(BadInput, match="does not parse"):
        _edit("class Book(:\n", "Book")
