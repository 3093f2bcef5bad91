"""What did each scaling fix of issue 18 buy? Undo one at a time, interleaved.

The suite's row 4 shows the curve with every fix in; this script puts the old code
back for one fix at a time, in this process only (nothing on disk changes), and runs
the same long run with and without it, round by round in alternating order, on tmpfs:

- ``plan``: ``Plan.get`` as a linear scan and ``Plan.ids`` as a list built per call;
- ``index``: no ``transitions_by_step`` index (the journal as the previous version made it);
- ``heartbeat``: a heartbeat thread started and joined for every step;
- ``cache``: ``SqlJournal.transitions`` decoding every row at every call.

``run`` prints the engine's cost per step ((t(N) - t(1)) / (N - 1)), ``resume`` the time
to resume an N-step run stopped at step N - 1. Medians and spread; it asserts nothing.

    .venv/bin/python -m bench.ab_fixes run 3000 3 all,plan,index,heartbeat
    .venv/bin/python -m bench.ab_fixes resume 3000 3 all,cache
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.bench_audit_anchor import make_runbook
from bench.rows_scaling import SCRATCH
from opsbooks.edges.console import Console
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.records.journal import schema
from opsbooks.records.journal import sql as journal_sql
from opsbooks.records.journal import sql_steps as journal_steps
from opsbooks.records.journal.records import Transition, transition_from_row
from opsbooks.testing import Drill


def _scan_get(self: Plan, step_id: str) -> PlannedStep:
    for planned in self.steps:
        if planned.id == step_id:
            return planned
    if step_id in self.compensations:
        return self.compensations[step_id]
    raise KeyError(step_id)


def _list_ids(self: Plan) -> list[str]:
    return [planned.id for planned in self.steps]


@contextlib.contextmanager
def _thread_per_step(self: Console, label: str, every: float = 30.0) -> Iterator[None]:
    stop = threading.Event()
    thread = threading.Thread(target=lambda: stop.wait(every), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _decode_every_time(self: Any, run_id: str) -> list[Transition]:
    rows = self._db.execute(
        f"SELECT {journal_steps._TRANSITION} FROM transitions WHERE run_id={self._q} ORDER BY seq",
        (run_id,),
    ).fetchall()
    return [transition_from_row(row) for row in rows]


_NEW: dict[str, Any] = {
    "get": Plan.get,
    "ids": Plan.ids,
    "heartbeat": Console.heartbeat,
    "transitions": journal_sql.SqlJournal.transitions,
    "indexes": schema.INDEXES,
}


def _without(fix: str) -> None:
    """Put the old code of ``fix`` back (``all``: every fix in, as shipped)."""
    Plan.get = _scan_get if fix == "plan" else _NEW["get"]  # type: ignore[method-assign]
    Plan.ids = _list_ids if fix == "plan" else _NEW["ids"]  # type: ignore[method-assign]
    Console.heartbeat = _thread_per_step if fix == "heartbeat" else _NEW["heartbeat"]  # type: ignore[method-assign]
    journal_sql.SqlJournal.transitions = (  # type: ignore[method-assign]
        _decode_every_time if fix == "cache" else _NEW["transitions"]
    )
    indexes = _NEW["indexes"]
    schema.INDEXES = tuple(i for i in indexes if fix != "index" or i.name != "transitions_by_step")


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def per_step_ms(steps: int) -> float:
    one, many = make_runbook(1, "python"), make_runbook(steps, "python")
    times = []
    for runbook in (one, many):
        with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
            drill = Drill(root=Path(folder), runbooks=(runbook,))
            name = runbook.name
            times.append(_timed(lambda: drill.run(name).assert_succeeded()))  # noqa: B023
    return (times[1] - times[0]) / (steps - 1) * 1000


def resume_ms(steps: int) -> float:
    runbook = make_runbook(steps, "python")
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        stopped = drill.run(runbook.name, fail={f"step_{steps - 2:03d}": "bench"}, no_rollback=True)
        return _timed(lambda: drill.resume(stopped.run_id).assert_succeeded()) * 1000


def main(argv: list[str]) -> None:
    mode, steps, rounds = argv[0], int(argv[1]), int(argv[2])
    variants = argv[3].split(",") if len(argv) > 3 else ["all", "plan", "index", "heartbeat"]
    measure = per_step_ms if mode == "run" else resume_ms
    figures: dict[str, list[float]] = {v: [] for v in variants}
    _without("all")
    per_step_ms(10)  # warm-up: imports, page cache
    for number in range(rounds):
        for variant in variants if number % 2 == 0 else variants[::-1]:
            _without(variant)
            figures[variant].append(measure(steps))
    _without("all")
    what = "ms per step" if mode == "run" else "ms to resume"
    for variant, values in figures.items():
        label = "every fix in" if variant == "all" else f"without {variant}"
        print(
            f"{mode} {steps} steps, {label:18s} {statistics.median(values):9.2f} {what}"
            f"  (spread {min(values):.2f}-{max(values):.2f})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
