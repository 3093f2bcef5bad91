"""A/B of the start-up fixes (issue 18, row 3): a git revision's opsbooks against the tree.

``python -m bench.ab_startup [ROUNDS] [REV]`` exports REV's ``opsbooks`` and
``opsbooks_playbooks`` (``git archive``, default ``HEAD``) to a temporary folder and runs
the same commands with it first on ``PYTHONPATH`` ("before") and with the working tree
("after"), interleaved round by round after one discarded warm-up round (which also
writes the catalog index), on row 3's projects: the house catalog plus 50 generated
runbooks, and a plain ``tasks.py`` of 50 tasks as the baseline. Prints median wall and
CPU (user + system of the child) and each one's ratio to the baseline.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.projects import write_plain_invoke
from bench.rows_startup import catalog_project

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]


def _commands(work: Path, before: dict[str, str], after: dict[str, str]) -> dict[str, tuple]:
    ours, plain = work / "ours", work / "plain"
    catalog_project(ours, runbooks=50, steps=5, house=True)
    write_plain_invoke(plain, tasks=50)
    commands: dict[str, tuple] = {
        "plain invoke --list": ([str(BIN / "invoke"), "--list"], plain, after)
    }
    for label, argv, cwd in (
        ("invoke --list", [str(BIN / "invoke"), "--list"], ours),
        ("opsbooks list", [str(BIN / "opsbooks"), "list"], ours),
        ("opsbooks --help", [str(BIN / "opsbooks"), "--help"], ours),
        ("import opsbooks", [sys.executable, "-c", "import opsbooks"], work),
    ):
        commands[f"{label} (before)"] = (argv, cwd, before)
        commands[f"{label} (after)"] = (argv, cwd, after)
    return commands


def _time(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    start_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime - start_usage.ru_utime + usage.ru_stime - start_usage.ru_stime
    return wall, cpu


def main(rounds: int, rev: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ab-startup-") as folder:
        work = Path(folder)
        old = work / "rev"
        old.mkdir()
        archive = subprocess.run(
            ["git", "archive", rev, "opsbooks", "opsbooks_playbooks"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        after = dict(os.environ)
        before = {**after, "PYTHONPATH": str(old)}
        commands = _commands(work, before, after)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for round_ in range(rounds + 1):
            order = list(commands) if round_ % 2 == 0 else list(reversed(commands))
            for name in order:
                measured = _time(*commands[name])
                if round_:
                    samples[name].append(measured)
    base_wall = statistics.median(s[0] for s in samples["plain invoke --list"])
    base_cpu = statistics.median(s[1] for s in samples["plain invoke --list"])
    print(f"{rounds} rounds against {rev}; load average {os.getloadavg()[0]:.1f}")
    print("| Command | Wall | Ratio | CPU | Ratio |\n| --- | --- | --- | --- | --- |")
    for name, values in samples.items():
        wall = statistics.median(s[0] for s in values)
        cpu = statistics.median(s[1] for s in values)
        print(
            f"| {name} | {wall * 1000:.0f} ms | {wall / base_wall:.2f}x "
            f"| {cpu * 1000:.0f} ms | {cpu / base_cpu:.2f}x |"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, sys.argv[2] if len(sys.argv) > 2 else "HEAD")
