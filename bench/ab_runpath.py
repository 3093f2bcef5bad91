"""What did each run-path fix of issue 18 buy? Undo one at a time, interleaved.

Like ``bench/ab_fixes.py``: the old code of one fix is put back in this process only
(nothing on disk changes), and the same run is timed with and without it, round by
round in alternating order. The variants:

- ``checkpoint``: a WAL checkpoint after every commit, no seal (``records/journal/sqlite.py``
  before the seal of ``sqlite_seal.py``);
- ``anchor``: the audit anchor in its own commit after each step event, not in the
  commit of the transition it goes with (``run/stepping.py`` ``_journaled``);
- ``tail``: a resume re-hashing every audit line before it appends, not the end
  read backwards (``records/audit_tail.py``);
- ``states``: ``step_states`` re-reading every row, not the decoded transitions;
- ``none``: all four old, the run path as it was before.

``run`` prints the engine's cost per step ((t(N) - t(1)) / (N - 1)) in a folder on
disk (``--dir``, default the system temp folder: fsync is what the first two fixes
save), ``resume`` the time to resume an N-step run stopped at step N - 1 (tmpfs, as
row 4). Medians and spread; it asserts nothing.

    .venv/bin/python -m bench.ab_runpath run 100 7 all,checkpoint,anchor,none
    .venv/bin/python -m bench.ab_runpath resume 1000 5 all,tail,states,none --cpu
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.bench_audit_anchor import make_runbook
from bench.rows_scaling import SCRATCH
from opsbooks.records import audit
from opsbooks.records.journal import sql as journal_sql
from opsbooks.records.journal import sqlite as journal_sqlite
from opsbooks.records.journal.records import step_status_of
from opsbooks.run.stepping import StepRunner
from opsbooks.testing import Drill


def _checkpoint_every_commit(self: Any, sql: str, params: Sequence[Any] = (), /) -> Any:
    cursor = self.db.execute(sql, params)
    if sql == "COMMIT":
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
    return cursor


def _anchor_apart(self: StepRunner, event: Any, record: Callable[[str | None], None]) -> None:
    record(None)
    self.emit(event)


def _every_row(self: Any, run_id: str) -> dict[str, Any]:
    rows = self._db.execute(
        f"SELECT step_id, status FROM transitions WHERE run_id={self._q} ORDER BY seq",
        (run_id,),
    ).fetchall()
    return {step: step_status_of(status) for step, status in rows}


_NEW: dict[str, Any] = {
    "execute": journal_sqlite._Connection.execute,
    "journaled": StepRunner._journaled,
    "ends_at": audit._ends_at,
    "states": journal_sql.SqlJournal.step_states,
}


def _without(fix: str) -> None:
    """Put the old code of ``fix`` back (``all``: every fix in; ``none``: every one out)."""
    out = {fix} if fix != "none" else {"checkpoint", "anchor", "tail", "states"}
    old = "checkpoint" in out
    journal_sqlite._Connection.execute = _checkpoint_every_commit if old else _NEW["execute"]  # type: ignore[method-assign]
    StepRunner._journaled = _anchor_apart if "anchor" in out else _NEW["journaled"]  # type: ignore[method-assign]
    audit._ends_at = (lambda path, expected: False) if "tail" in out else _NEW["ends_at"]
    journal_sql.SqlJournal.step_states = _every_row if "states" in out else _NEW["states"]  # type: ignore[method-assign]


#: what is timed: ``wall`` (the default), or ``cpu`` (this process's, ``--cpu``), which a
#: loaded machine disturbs less; the fsyncs the first two fixes save are wall time only
CLOCK = {"now": time.perf_counter}


def _timed(action: Callable[[], object]) -> float:
    started = CLOCK["now"]()
    action()
    return CLOCK["now"]() - started


def per_step_ms(steps: int, where: str | None) -> float:
    one, many = make_runbook(1, "python"), make_runbook(steps, "python")
    times = []
    for runbook in (one, many):
        with tempfile.TemporaryDirectory(dir=where) as folder:
            drill = Drill(root=Path(folder), runbooks=(runbook,))
            name = runbook.name
            times.append(_timed(lambda: drill.run(name).assert_succeeded()))  # noqa: B023
    return (times[1] - times[0]) / (steps - 1) * 1000


def resume_ms(steps: int, where: str | None) -> float:
    runbook = make_runbook(steps, "python")
    with tempfile.TemporaryDirectory(dir=where or SCRATCH) as folder:
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        stopped = drill.run(runbook.name, fail={f"step_{steps - 2:03d}": "bench"}, no_rollback=True)
        return _timed(lambda: drill.resume(stopped.run_id).assert_succeeded()) * 1000


def main(argv: list[str]) -> None:
    where = None
    if "--cpu" in argv:
        CLOCK["now"], argv = time.process_time, [a for a in argv if a != "--cpu"]
    if "--dir" in argv:
        at = argv.index("--dir")
        where, argv = argv[at + 1], argv[:at] + argv[at + 2 :]
    mode, steps, rounds = argv[0], int(argv[1]), int(argv[2])
    variants = argv[3].split(",") if len(argv) > 3 else ["all", "checkpoint", "anchor"]
    measure = per_step_ms if mode == "run" else resume_ms
    figures: dict[str, list[float]] = {v: [] for v in variants}
    _without("all")
    per_step_ms(10, where)  # warm-up: imports, page cache
    for number in range(rounds):
        for variant in variants if number % 2 == 0 else variants[::-1]:
            _without(variant)
            figures[variant].append(measure(steps, where))
    _without("all")
    what = "ms per step" if mode == "run" else "ms to resume"
    what += " (CPU)" if CLOCK["now"] is time.process_time else ""
    for variant, values in figures.items():
        label = {"all": "every fix in", "none": "every fix out"}.get(variant, f"without {variant}")
        print(
            f"{mode} {steps} steps, {label:18s} {statistics.median(values):9.2f} {what}"
            f"  (spread {min(values):.2f}-{max(values):.2f})"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
