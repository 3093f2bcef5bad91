"""Rows 1 and 2: the engine against a plain invoke task, and what one step costs.

Row 1 is whole processes, as a user runs them: ``opsbooks run`` of a 20-step runbook
of ``true`` against ``invoke`` running one task with the same 20 ``c.run("true")``.
Row 2 is in-process: the runner's cost per step (journal transitions, audit line,
events, console) is the difference between an N+1-step and a 1-step run of no-op
``@step`` functions, divided by N, so start-up and the run's fixed cost cancel out.
"""

from __future__ import annotations

import sqlite3
import subprocess
import tempfile
from pathlib import Path

from bench.bench_audit_anchor import make_runbook
from bench.measure import BIN, Row, Sample, compare, interleave, run_inline, run_process
from bench.projects import write_config, write_plain_invoke, write_runbook
from opsbooks.backends.local import LocalBackend
from opsbooks.backends.protocols import CommandSpec
from opsbooks.testing import Drill


def engine_rows(work: Path, *, reps: int) -> list[Row]:
    """Row 1: whole-process wall and CPU, opsbooks run against plain invoke."""
    ours, plain = work / "engine-ours", work / "engine-plain"
    write_runbook(ours, "bench", "twenty", steps=20)
    write_config(ours)
    write_plain_invoke(plain, tasks=1, runs=20)
    samples = interleave(
        {
            "ours": lambda: run_process(
                [str(BIN / "opsbooks"), "run", "bench.twenty", "--yes"], cwd=ours
            ),
            "plain": lambda: run_process([str(BIN / "invoke"), "task-000"], cwd=plain),
        },
        reps,
    )
    common = {
        "ours": "opsbooks run (20 x true)",
        "baseline": "invoke task, 20 x c.run('true')",
        "target_ratio": 1.1,
    }
    return [
        compare(
            1,
            "engine",
            metric,
            ours_values=[getattr(s, metric) for s in samples["ours"]],
            baseline_values=[getattr(s, metric) for s in samples["plain"]],
            **common,
        )  # type: ignore[arg-type]
        for metric in ("wall", "cpu")
    ]


def _drill_run(steps: int) -> Sample:
    runbook = make_runbook(steps, "python")
    with tempfile.TemporaryDirectory() as folder:
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        sample = run_inline(lambda: drill.run(runbook.name).assert_succeeded())
    return sample


def _bare_commits(count: int) -> Sample:
    """``count`` inserts, each its own committed WAL transaction with synchronous=FULL."""
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(Path(folder) / "bare.db", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, run TEXT, step TEXT, status TEXT)")

        def commits() -> None:
            for index in range(count):
                db.execute("BEGIN IMMEDIATE")
                db.execute(
                    "INSERT INTO t (run, step, status) VALUES (?, ?, ?)", ("r", str(index), "ok")
                )
                db.execute("COMMIT")

        sample = run_inline(commits)
        db.close()
    return Sample(sample.wall / count, sample.cpu / count)


def step_rows(*, steps: int, reps: int, launches: int) -> list[Row]:
    """Row 2: engine cost per step (vs one bare durable commit) and command launch."""
    one, many = [], []
    commits: list[float] = []
    for _ in range(reps + 1):  # the first round warms imports and is dropped below
        one.append(_drill_run(1).wall)
        many.append(_drill_run(steps + 1).wall)
        commits.append(_bare_commits(steps).wall)
    per_step = [(m - o) / steps for m, o in zip(many[1:], one[1:], strict=True)]
    cost = compare(
        2,
        "per-step",
        f"engine cost, {steps} no-op steps",
        ours="opsbooks step (ms)",
        baseline="1 bare SQLite WAL FULL commit",
        ours_values=[v * 1000 for v in per_step],
        baseline_values=[c * 1000 for c in commits[1:]],
        unit="ms",
        target="< 1 ms per step",
        note="ratio = how many bare durable commits one step costs",
    )
    cost.met = cost.ours_value is not None and cost.ours_value < 1.0
    return [cost, launch_row(launches=launches, reps=reps)]


def launch_row(*, launches: int, reps: int) -> Row:
    """Row 2b: the local backend launching ``true`` against a bare ``subprocess.run``."""
    backend = LocalBackend()
    spec = CommandSpec(command="true", shown="true")

    def ours() -> Sample:
        return run_inline(lambda: [backend.run(spec) for _ in range(launches)])

    def bare() -> Sample:
        return run_inline(
            lambda: [
                subprocess.run(["/bin/sh", "-c", "true"], capture_output=True, check=True)
                for _ in range(launches)
            ]
        )

    samples = interleave({"ours": ours, "bare": bare}, reps)
    row = compare(
        2,
        "launch",
        "command launch (true)",
        ours="LocalBackend.run (ms)",
        baseline="subprocess.run sh -c true (ms)",
        ours_values=[s.wall * 1000 / launches for s in samples["ours"]],
        baseline_values=[s.wall * 1000 / launches for s in samples["bare"]],
        unit="ms",
        target="within 2 ms of bare",
    )
    if row.ours_value is not None and row.baseline_value is not None:
        row.met = row.ours_value - row.baseline_value <= 2.0
        row.note = f"difference {row.ours_value - row.baseline_value:.2f} ms per launch"
    return row
