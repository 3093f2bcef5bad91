"""Row 4: cost per step at 10 to 5,000 steps, and resuming a long run near its end.

Each size runs the real runner in-process (``Drill``: SQLite journal, audit file,
console) on no-op ``@step`` functions, beside a 1-step run in the same round; the cost
per step is ``(t(N) - t(1)) / (N - 1)``, so the fixed cost of a run cancels out. Flat
means the ratio to the 100-step figure stays near 1: no journal re-read, no re-render,
no audit re-hash per step. The projects live on tmpfs where there is one, so the
disk's fsync latency (rows 2 and 7 measure it) does not hide the curve. Resume: a
1,000-step run fails at step 999, then ``resume_run`` (steps 999 and 1,000 run) is
timed against ``start_run`` of a fresh 1-step run, both as the CLI calls them (the
Drill's read-back of the whole run for a test's asserts is outside the clock).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.bench_audit_anchor import make_runbook
from bench.measure import Row, compare, median, run_inline
from opsbooks.edges.requests import Invocation, ResumeRequest
from opsbooks.edges.session import resume_run, start_run
from opsbooks.run.options import RunOptions
from opsbooks.testing import Drill

#: tmpfs when there is one: this row is about the engine's algorithmic cost per step
#: (re-reads, re-renders, re-hashing), which fsync latency (rows 2 and 7) would drown
SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None

# the baseline size: 10 steps is too short for the fixed costs to cancel out reliably
REFERENCE = 100


def _per_step(steps: int) -> float:
    one, many = make_runbook(1, "python"), make_runbook(steps, "python")
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        drill = Drill(root=Path(folder), runbooks=(one,))
        t_one = run_inline(lambda: drill.run(one.name).assert_succeeded()).wall
    with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
        drill = Drill(root=Path(folder), runbooks=(many,))
        t_many = run_inline(lambda: drill.run(many.name).assert_succeeded()).wall
    return (t_many - t_one) / (steps - 1)


def scaling_rows(sizes: Sequence[int], *, reps: int, big_reps: int = 1) -> list[Row]:
    _per_step(10)  # warm-up: imports, page cache
    figures: dict[int, list[float]] = {}
    for size in sizes:
        rounds = reps if size <= 1000 else big_reps
        figures[size] = [_per_step(size) * 1000 for _ in range(rounds)]
    reference = figures.get(REFERENCE) or figures[min(figures)]
    label = REFERENCE if REFERENCE in figures else min(figures)
    return [
        compare(
            4,
            "scaling",
            f"{size} steps",
            ours=f"ms/step at {size}",
            baseline=f"ms/step at {label}",
            ours_values=figures[size],
            baseline_values=reference,
            unit="ms",
            target_ratio=1.25,
            target="flat: <= 1.25x",
        )
        for size in sizes
    ]


def engine_resume(drill: Drill, run_id: str) -> float:
    """Seconds ``resume_run`` takes, as ``opsbooks resume`` calls it once the configuration
    and catalog are loaded. Not ``Drill.resume``: its result reads every transition of the
    run back for a test's asserts (2,000 rows here), which no resume does."""
    config, catalog = drill.config, drill.catalog()
    surroundings, _ = drill._surroundings(None, ())
    request = ResumeRequest(run_id=run_id, options=RunOptions())
    started = time.perf_counter()
    report = resume_run(request, config, surroundings, catalog)
    taken = time.perf_counter() - started
    if report.outcome.value != "succeeded":
        raise RuntimeError(f"the resume ended {report.outcome.value}: {report.reason}")
    return taken


def engine_run(drill: Drill, name: str) -> float:
    """Seconds ``start_run`` takes (as ``engine_resume``, without the Drill's read-back)."""
    config, catalog = drill.config, drill.catalog()
    surroundings, _ = drill._surroundings(None, ())
    invocation = Invocation(runbook=name, params={}, options=RunOptions())
    started = time.perf_counter()
    report = start_run(invocation, config, surroundings, catalog)
    taken = time.perf_counter() - started
    if report is None or report.outcome.value != "succeeded":
        raise RuntimeError(f"the run did not succeed: {report and report.reason}")
    return taken


def resume_row(*, steps: int, reps: int) -> Row:
    """Resume of a ``steps``-step run stopped at step ``steps - 1``, vs a 1-step run."""
    long, one = make_runbook(steps, "python"), make_runbook(1, "python")
    failing = f"step_{steps - 2:03d}"
    resumes: list[float] = []
    fresh: list[float] = []
    for number in range(reps + 1):  # the first round is a warm-up, discarded
        if number == 1:
            resumes.clear()
            fresh.clear()
        with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
            drill = Drill(root=Path(folder), runbooks=(long,))
            stopped = drill.run(long.name, fail={failing: "bench"}, no_rollback=True)
            if stopped.outcome == "succeeded":
                raise RuntimeError("the injected failure did not stop the run")
            resumes.append(engine_resume(drill, stopped.run_id))
        with tempfile.TemporaryDirectory(dir=SCRATCH) as folder:
            drill = Drill(root=Path(folder), runbooks=(one,))
            fresh.append(engine_run(drill, one.name))
    row = compare(
        4,
        "resume",
        f"resume at step {steps - 1} of {steps}",
        ours="resume (2 steps left)",
        baseline="fresh 1-step run",
        ours_values=resumes,
        baseline_values=fresh,
        target_ratio=2.0,
        target="about the same: <= 2x",
    )
    row.note = f"median resume {median(resumes) * 1000:.0f} ms"
    return row
