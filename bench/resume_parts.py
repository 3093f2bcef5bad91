"""Where a resume's time goes: CPU per part of ``resume_run``, unprofiled.

cProfile's per-call overhead inflates code that makes many small calls (a generator
over 1,000 steps showed as 17 ms that takes 0.06 ms), so this wraps a few named parts
of the resume in ``time.process_time`` instead and reports each part's median over
the rounds (row 4's resume at step N - 1 of N, on tmpfs; the first round discarded).
Parts nest (``_walk`` holds the steps that run; ``plan`` holds the fingerprint).

    .venv/bin/python -m bench.resume_parts [steps] [rounds]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.bench_audit_anchor import make_runbook
from bench.rows_scaling import SCRATCH, engine_resume, engine_run
from opsbooks.edges import session
from opsbooks.plan import binding
from opsbooks.records.journal import sql
from opsbooks.run import runner, stepping
from opsbooks.testing import Drill

PARTS: list[tuple[Any, str]] = [
    (session, "plan"),
    (binding, "fingerprint"),
    (session, "_journal"),
    (session, "load_hooks"),
    (session, "reconcile"),
    (session, "check_tainted_outputs"),
    (runner.Runner, "_walk"),
    (runner.Runner, "_finish"),
    (stepping.StepRunner, "run"),
    (sql.SqlJournal, "step_states"),
    (sql.SqlJournal, "current"),
]


def _wrapped(spent: dict[str, float], name: str, function: Callable[..., Any]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - started

    return timed


def main(argv: list[str]) -> None:
    steps = int(argv[0]) if argv else 1000
    rounds = int(argv[1]) if len(argv) > 1 else 7
    spent: dict[str, float] = defaultdict(float)
    for owner, name in PARTS:
        setattr(owner, name, _wrapped(spent, name, getattr(owner, name)))
    long, one = make_runbook(steps, "python"), make_runbook(1, "python")
    figures: dict[str, list[float]] = defaultdict(list)
    for number in range(rounds + 1):
        with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
            drill = Drill(root=Path(folder), runbooks=(long,))
            stopped = drill.run(
                long.name, fail={f"step_{steps - 2:03d}": "bench"}, no_rollback=True
            )
            spent.clear()
            started = time.process_time()
            engine_resume(drill, stopped.run_id)
            total = time.process_time() - started
        with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
            drill = Drill(root=Path(folder), runbooks=(one,))
            fresh_started = time.process_time()
            engine_run(drill, one.name)
            fresh = time.process_time() - fresh_started
        if number:  # the first round imports what a resume imports on first use
            figures["resume_run (all)"].append(total)
            figures["fresh 1-step start_run"].append(fresh)
            for name, seconds in spent.items():
                figures[name].append(seconds)
    for name, values in sorted(figures.items(), key=lambda item: -statistics.median(item[1])):
        print(f"{name:26s} {statistics.median(values) * 1000:7.2f} ms CPU")


if __name__ == "__main__":
    main(sys.argv[1:])
