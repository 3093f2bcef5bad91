"""How much does opsbooks add on top of the commands it runs?

Runs the same N trivial shell commands twice in one process: once straight through
``subprocess.run`` (the baseline), once as an N-step runbook through the real runner
(invoke backend, SQLite journal with fsync, hash-chained audit file, console). Prints
the ratio, so the figure survives noisy machines; the absolute times are context.

    .venv/bin/python bench/bench_runner.py [--steps 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from opsbooks import Command, Runbook
from opsbooks.testing import Drill


def make_runbook(steps: int) -> type[Runbook]:
    attrs: dict[str, object] = {
        "__doc__": "Benchmark: N trivial commands.",
        "__module__": __name__,
        "name": "bench.trivial",
        "scope": "benchmark",
        "owner": "bench",
        "last_reviewed": dt.date(2026, 11, 1),
    }
    for index in range(steps):
        attrs[f"step_{index:03d}"] = Command(f"echo step {index} >/dev/null")
    return type("Trivial", (Runbook,), attrs)


def baseline(steps: int) -> float:
    started = time.perf_counter()
    for index in range(steps):
        subprocess.run(
            ["sh", "-c", f"echo step {index} >/dev/null"],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
        )
    return time.perf_counter() - started


def with_opsbooks(runbook: type[Runbook]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        drill = Drill(root=Path(folder), runbooks=(runbook,))
        started = time.perf_counter()
        result = drill.run(runbook.name)
        elapsed = time.perf_counter() - started
        result.assert_succeeded()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runbook = make_runbook(args.steps)
    base, ours = [], []
    for _ in range(args.rounds):
        base.append(baseline(args.steps))
        ours.append(with_opsbooks(runbook))
    b, o = statistics.median(base), statistics.median(ours)
    out = io.StringIO()
    out.write(f"steps={args.steps} rounds={args.rounds}\n")
    out.write(f"baseline subprocess.run: {b * 1000 / args.steps:.1f} ms/step (median round)\n")
    out.write(f"opsbooks runner:         {o * 1000 / args.steps:.1f} ms/step (median round)\n")
    out.write(
        f"ratio opsbooks/baseline: {o / b:.2f}x; overhead {(o - b) * 1000 / args.steps:.1f}"
        f" ms/step (journal fsync, audit line, invoke threads)\n"
    )
    print(out.getvalue(), end="")


if __name__ == "__main__":
    main()
