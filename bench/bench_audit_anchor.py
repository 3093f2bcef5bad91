"""What does anchoring the audit chain in the journal cost per step?

Every audit line is followed by a journal write of the chain's head and line count
(``runs.audit_head``, see ``opsbooks/records/audit.py`` and ``edges/session.py``), so a
truncated or rewritten audit file is caught. That is one more committed SQLite
transaction (WAL, ``synchronous=FULL``) per audit line, on top of the audit line's own
fsync and the journal's transitions.

The same N-step runbook runs through the real runner (``Drill``: SQLite journal, audit
file, console) in two variants, interleaved round by round so drift on a noisy machine
hits both alike:

- anchored: as shipped, the head written to the journal after every audit line;
- journal only (baseline): the same run with the per-line anchor switched off, the
  audit file and every journal transition still written. There is no configuration key
  for this (``audit_anchor`` names a notify channel for the head at the end of a run,
  not this), so the benchmark builds the audit log without its anchor callback; the one
  anchor at the end of the run (``final_anchor``) is kept.

Steps are ``@step`` Python functions by default (no subprocess: the figure is the
engine's), or ``true`` commands with ``--kind command``. It prints medians and the
ratio anchored / baseline, never asserts a time.

    .venv/bin/python bench/bench_audit_anchor.py [--steps 40] [--rounds 7] [--kind python]
        [--dir FOLDER] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opsbooks import Command, Runbook, step
from opsbooks.edges import session
from opsbooks.records.audit import AuditLog
from opsbooks.testing import Drill


def make_runbook(steps: int, kind: str) -> type[Runbook]:
    """An N-step runbook: each step a no-op Python function, or the command ``true``."""
    attrs: dict[str, object] = {
        "__doc__": "Benchmark: N trivial steps.",
        "__module__": __name__,
        "name": "bench.anchor",
        "scope": "benchmark",
        "owner": "bench",
        "last_reviewed": dt.date(2026, 11, 1),
    }
    for index in range(steps):
        name = f"step_{index:03d}"
        if kind == "command":
            attrs[name] = Command("true")
        else:

            def nothing(self: Any, ctx: Any) -> None:
                return None

            nothing.__name__ = nothing.__qualname__ = name
            attrs[name] = step()(nothing)
    return type("AnchorBench", (Runbook,), attrs)


class _Unanchored(AuditLog):
    """The audit log without its per-line journal anchor (the baseline's only change)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["anchor"] = None
        super().__init__(*args, **kwargs)


@contextlib.contextmanager
def anchoring(on: bool) -> Iterator[None]:
    """Run with the shipped audit log (``on``) or the unanchored one, then restore."""
    shipped = getattr(session, "AuditLog")  # noqa: B009  (not re-exported: read it by name)
    setattr(session, "AuditLog", shipped if on else _Unanchored)  # noqa: B010
    try:
        yield
    finally:
        setattr(session, "AuditLog", shipped)  # noqa: B010


def one_run(runbook: type[Runbook], *, anchored: bool, under: str | None) -> tuple[float, int]:
    """Seconds for one whole run, and how many audit lines it wrote."""
    with tempfile.TemporaryDirectory(dir=under) as folder, anchoring(anchored):
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        started = time.perf_counter()
        result = drill.run(runbook.name)
        elapsed = time.perf_counter() - started
        result.assert_succeeded()
        result.assert_audit_intact()  # the final anchor still holds in the baseline
        lines = len(result.audit_path.read_text().splitlines())
    return elapsed, lines


def measure(steps: int, rounds: int, kind: str, under: str | None = None) -> dict[str, Any]:
    runbook = make_runbook(steps, kind)
    one_run(
        runbook, anchored=True, under=under
    )  # warm up imports, page cache, the SQLite file paths
    times: dict[bool, list[float]] = {True: [], False: []}
    lines = 0
    for number in range(rounds):
        order = (True, False) if number % 2 == 0 else (False, True)
        for anchored in order:
            elapsed, lines = one_run(runbook, anchored=anchored, under=under)
            times[anchored].append(elapsed)
    on, off = statistics.median(times[True]), statistics.median(times[False])
    return {
        "steps": steps,
        "rounds": rounds,
        "kind": kind,
        "audit_lines_per_step": round(lines / steps, 2),
        "baseline_ms_per_step": round(off * 1000 / steps, 3),
        "anchored_ms_per_step": round(on * 1000 / steps, 3),
        "anchor_ms_per_step": round((on - off) * 1000 / steps, 3),
        "ratio": round(on / off, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--kind", choices=("python", "command"), default="python")
    parser.add_argument("--dir", help="where the runs' projects live (fsync cost is the disk's)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(args.steps, args.rounds, args.kind, args.dir)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"steps={args.steps} rounds={args.rounds} kind={args.kind} (medians, interleaved)")
    print(f"audit lines (= anchor writes) per step: {figures['audit_lines_per_step']}")
    print(f"journal only (baseline): {figures['baseline_ms_per_step']:.2f} ms/step")
    print(f"anchored (as shipped):   {figures['anchored_ms_per_step']:.2f} ms/step")
    print(
        f"ratio anchored/baseline: {figures['ratio']:.2f}x; the anchor costs "
        f"{figures['anchor_ms_per_step']:.2f} ms/step"
    )


if __name__ == "__main__":
    main()
