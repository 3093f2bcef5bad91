"""``python -m bench [--quick] [ROW ...]``: the performance suite, as a table and JSON.

Rows (names to select them): engine (1), step (2), startup (3), scaling (4), ssh (5),
render (6), journal (7). Every figure is a ratio of medians against a baseline timed
in the same run, interleaved; a baseline that cannot run here is printed as skipped,
with the reason. Results go to ``bench/results.json`` (``--out`` to change), which
``python -m bench.chart --docs docs/performance.md`` turns into the docs' table and chart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import measure
from bench.measure import Row

HERE = Path(__file__).resolve().parent
ROWS = ("engine", "step", "startup", "scaling", "ssh", "render", "journal")


@dataclass(frozen=True)
class Sizes:
    """How much each row does: the full suite, or ``--quick`` (a smoke run of seconds)."""

    reps: int
    step_steps: int
    launches: int
    startup_runbooks: int
    scaling: tuple[int, ...]
    resume_steps: int
    ssh_hosts: tuple[int, ...]
    ssh_reps: int
    render_runbooks: int
    journal_count: int
    full: bool


FULL = Sizes(4, 100, 30, 50, (10, 100, 1000, 5000), 1000, (1, 5, 10, 20, 50), 2, 200, 400, True)
QUICK = Sizes(1, 20, 5, 10, (10, 50), 20, (1,), 1, 20, 20, False)


def _run_row(name: str, work: Path, s: Sizes) -> list[Row]:
    from bench import rows_engine, rows_journal, rows_scaling, rows_ssh, rows_startup

    table: dict[str, Callable[[], list[Row]]] = {
        "engine": lambda: rows_engine.engine_rows(work, reps=s.reps),
        "step": lambda: rows_engine.step_rows(
            steps=s.step_steps, reps=min(s.reps, 3), launches=s.launches
        ),
        "startup": lambda: [
            *rows_startup.startup_rows(work, reps=s.reps, runbooks=s.startup_runbooks),
            rows_startup.import_row(reps=s.reps),
        ],
        "scaling": lambda: [
            *rows_scaling.scaling_rows(s.scaling, reps=min(s.reps, 3)),
            rows_scaling.resume_row(steps=s.resume_steps, reps=min(s.reps, 2)),
        ],
        "ssh": lambda: rows_ssh.ssh_rows(work, s.ssh_hosts, reps=s.ssh_reps, install=s.full),
        "render": lambda: rows_startup.render_rows(work, reps=s.reps, runbooks=s.render_runbooks),
        "journal": lambda: rows_journal.journal_rows(
            work, count=s.journal_count, reps=min(s.reps, 3), postgres=s.full
        ),
    }
    return table[name]()


def machine() -> dict[str, Any]:
    """What the figures were measured on: they follow the CPU, the disk and the load."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    disk = subprocess.run(["df", "-hT", str(HERE)], capture_output=True, text=True, check=False)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "disk": " ".join(disk.stdout.splitlines()[-1].split()[:3]) if disk.stdout else "unknown",
        "python": platform.python_version(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f} ms" if unit == "ms" else f"{value:.3f} s"


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (the docs' table is this, from results.json)."""
    head = "| # | Row | Case | Ours | Baseline | Ratio | Spread (ours) | Target | Met |"
    lines = [head, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if r.skipped:
            lines.append(
                f"| {r.row} | {r.name} | {r.case} | {r.ours} | {r.baseline} | skipped | - "
                f"| {r.target} | skipped: {r.skipped} |"
            )
            continue
        met = "-" if r.met is None else ("met" if r.met else "missed")
        spread = "-".join(_fmt(v, r.unit).split()[0] for v in r.spread_ours)
        ours = f"{_fmt(r.ours_value, r.unit)} ({r.ours})"
        base = f"{_fmt(r.baseline_value, r.unit)} ({r.baseline})"
        note = f" {r.note}" if r.note else ""
        lines.append(
            f"| {r.row} | {r.name} | {r.case} | {ours} | {base} | {r.ratio:.2f}x | {spread} "
            f"| {r.target} | {met}{note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "rows", nargs="*", metavar="ROW", help=f"rows to run (default all): {', '.join(ROWS)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: one repetition, small sizes"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "results.json", help="where the JSON goes"
    )
    args = parser.parse_args(argv)
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        print(
            f"python -m bench: unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}",
            file=sys.stderr,
        )
        return 2
    sizes = QUICK if args.quick else FULL
    measure.SETTINGS["warmup"] = not args.quick
    started = time.perf_counter()
    info = machine()
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="opsbooks-bench-"))
    try:
        for name in args.rows or ROWS:
            begun = time.perf_counter()
            try:
                got = _run_row(name, work, sizes)
            except measure.BenchFailed as exc:
                got = [
                    measure.skipped(
                        ROWS.index(name) + 1,
                        name,
                        "all",
                        ours="-",
                        baseline="-",
                        reason=f"a measured command failed: {str(exc).splitlines()[0]}",
                    )
                ]
            rows += got
            print(f"[{name}: {time.perf_counter() - begun:.1f} s]", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print(table(rows))
    print(
        f"\n{len(rows)} rows in {elapsed:.1f} s on {info['nproc']} x {info['cpu']} ({info['disk']})"
    )
    result = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "elapsed_s": round(elapsed, 1),
        "machine": {**info, "load_after": [round(x, 2) for x in os.getloadavg()]},
        "rows": [r.as_dict() for r in rows],
    }
    if not args.rows or "startup" in args.rows:
        from bench.rows_startup import import_report

        result["imports"] = import_report()
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
