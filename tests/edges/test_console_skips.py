"""A tree that ends at a diagnosis skips every other leaf: the console says so in one line,
while a few skips (or skips for different reasons) keep a line each."""

from __future__ import annotations

import io

from opsbooks.edges.console import Console
from opsbooks.records.events import Notice, RunFinished, StepFinished
from opsbooks.records.redaction import Redactor

ENDED = "the run ended at diagnosis dns_failure"


def _shown(*events: object) -> list[str]:
    out = io.StringIO()
    console = Console(out, Redactor())
    for event in events:
        console(event)  # type: ignore[arg-type]
    return out.getvalue().splitlines()


def _skip(step: str, reason: str = ENDED) -> StepFinished:
    return StepFinished(step, "skipped", 0.0, reason=reason, attempts=0)


def test_many_skips_for_one_reason_are_one_line_naming_them() -> None:
    lines = _shown(*(_skip(f"leaf{n}") for n in range(5)), RunFinished("succeeded", 1.0))
    assert lines[0] == f"    5 steps skipped ({ENDED}): leaf0, leaf1, leaf2, leaf3, leaf4"
    assert lines[1] == "Run succeeded in 1s"


def test_a_few_skips_or_different_reasons_keep_a_line_each_in_order() -> None:
    lines = _shown(
        _skip("a", "branch routed to c"),
        _skip("b", "branch routed to c"),
        _skip("x", "--skip"),
        Notice("done"),
    )
    assert lines == [
        "    a: skipped (branch routed to c)",
        "    b: skipped (branch routed to c)",
        "    x: skipped (--skip)",
        "  note: done",
    ]
