"""``undo_on_failure``: a step that may have partly happened is undone even when it fails."""

from __future__ import annotations

import pytest

import opsbooks as ob
from opsbooks.edges.config import Contacts
from opsbooks.errors import DefinitionError
from opsbooks.render.markdown import render_runbook
from opsbooks.testing import Drill

# Copies two files, the second of which is missing: the first copy stays behind.
HALF_COPY = "cp a.txt out-a.txt && cp missing.txt out-b.txt"
CLEAN_UP = "rm -f out-a.txt out-b.txt && echo cleaned >> ledger.txt"


class HalfCopy(ob.Runbook):
    """A copy that fails half-way and says its undo must run anyway."""

    name = "test.half_copy"
    scope = "engine tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    prepare = ob.Command("echo prepared >> ledger.txt", undo="unprepare")
    copy = ob.Command(HALF_COPY, undo="remove_copies", undo_on_failure=True)

    unprepare = ob.Command("echo unprepared >> ledger.txt")
    remove_copies = ob.Command(CLEAN_UP)


class HalfCopyPlain(HalfCopy):
    """The same copy without ``undo_on_failure``: only completed steps are undone."""

    name = "test.half_copy_plain"
    copy = ob.Command(HALF_COPY, undo="remove_copies")


def run(drill: Drill, runbook: type[ob.Runbook]) -> list[str]:
    (drill.root / "a.txt").write_text("a\n")
    result = drill.run(runbook)
    assert result.outcome == "rolled_back", result.output
    result.assert_compensated("prepare")
    ledger = drill.root / "ledger.txt"
    return ledger.read_text().split()


@pytest.mark.slow
def test_a_failed_step_with_undo_on_failure_is_undone_first(drill: Drill) -> None:
    assert run(drill, HalfCopy) == ["prepared", "cleaned", "unprepared"]
    assert not (drill.root / "out-a.txt").exists()


@pytest.mark.slow
def test_without_it_only_completed_steps_are_undone(drill: Drill) -> None:
    assert run(drill, HalfCopyPlain) == ["prepared", "unprepared"]
    assert (drill.root / "out-a.txt").exists()  # what the flag is for


def test_the_docs_say_the_undo_also_runs_after_a_failure() -> None:
    page = render_runbook(HalfCopy, Contacts())
    assert "also when this step fails: it may have partly happened" in page


def test_undo_on_failure_needs_an_undo() -> None:
    with pytest.raises(DefinitionError, match="undo_on_failure=True but the step has no undo"):

        class Broken(ob.Runbook):
            """No undo to run."""

            name = "test.broken"
            scope = "engine tests"
            owner = "sre"
            last_reviewed = "2026-11-28"

            copy = ob.Command("true", undo_on_failure=True)
