"""Row 5 before and after: ``opsbooks run`` of the ssh row's runbook from an older commit
and from the working tree, with plain fabric as the baseline, all interleaved.

    python -m bench.ab_ssh                       # before = HEAD, counts 1,20,50, 3 rounds
    python -m bench.ab_ssh --before c2b59d4 --counts 1,5,10,20,50 --rounds 3
    python -m bench.ab_ssh --overlay opsbooks/backends/ssh opsbooks/backends/rollout.py

``--overlay PATH...``: "after" is the older commit with only these paths taken from the
working tree (one change measured apart from the others in the tree).

The older commit's ``opsbooks`` package is unpacked (``git archive``) into a temporary
folder and put first on ``PYTHONPATH`` for its variant only; both variants run the same
project, hosts, key and ``known_hosts`` as ``python -m bench ssh``. Each round runs every
variant once, order alternating, after one discarded warm-up round. Wall and CPU (the
process and its children, ``RUSAGE_CHILDREN``) medians are printed with each one's
ratio to fabric, and the cost per extra host (from the smallest count).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.measure import BIN
from bench.rows_ssh import COMMAND, HERE, _fabric_spec, _project

ROOT = HERE.parent


def _timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stderr.decode()[-1500:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def _unpack(commit: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "opsbooks"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="the commit to compare with")
    parser.add_argument("--counts", default="1,20,50", help="host counts, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--overlay", nargs="*", default=[], help="working-tree paths for after")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    from opsbooks.testing.sshd import sshd_hosts

    with tempfile.TemporaryDirectory(prefix="opsbooks-ab-ssh-") as tmp:
        work = Path(tmp)
        (work / "before").mkdir()
        old = _unpack(args.before, (work / "before").resolve())
        after: dict[str, str] = {}
        if args.overlay:
            (work / "after").mkdir()
            new = _unpack(args.before, (work / "after").resolve())
            for path in args.overlay:
                subprocess.run(["cp", "-rT", str(ROOT / path), str(new / path)], check=True)
            after = {"PYTHONPATH": str(new)}
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
        with sshd_hosts(work / "sshd", count=max(counts)) as cluster:
            medians: dict[int, dict[str, tuple[float, float]]] = {}
            for count in counts:
                names = cluster.names[:count]
                project = _project(work, cluster, names)
                spec = _fabric_spec(work, cluster, names)
                ours = [str(BIN / "opsbooks"), "run", "bench.fanout", "--yes"]
                fabric = [sys.executable, str(HERE / "fabric_fanout.py"), str(spec), COMMAND]
                variants: dict[str, Callable[[], tuple[float, float]]] = {
                    "before": lambda o=ours, p=project: _timed(o, p, {"PYTHONPATH": str(old)}),
                    "after": lambda o=ours, p=project: _timed(o, p, after),
                    "fabric": lambda f=fabric: _timed(f, work),
                }
                medians[count] = _interleaved(variants, args.rounds)
                _print(count, medians[count])
        _per_host(medians, counts)
        print(f"load average {os.getloadavg()[0]:.1f}", flush=True)
    return 0


def _interleaved(
    variants: dict[str, Callable[[], tuple[float, float]]], rounds: int
) -> dict[str, tuple[float, float]]:
    names = list(variants)
    for name in names:
        variants[name]()  # warm-up: page cache, bytecode
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for number in range(rounds):
        for name in names if number % 2 == 0 else names[::-1]:
            got[name].append(variants[name]())
    return {
        name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in got.items()
    }


def _print(count: int, med: dict[str, tuple[float, float]]) -> None:
    for index, label in ((0, "wall"), (1, "cpu")):
        base = med["fabric"][index]
        shown = "  ".join(
            f"{name} {values[index]:.3f} s"
            + ("" if name == "fabric" else f" ({values[index] / base:.2f}x)")
            for name, values in med.items()
        )
        print(f"{count:3d} hosts {label:4s} {shown}", flush=True)


def _per_host(medians: dict[int, dict[str, tuple[float, float]]], counts: list[int]) -> None:
    low, high = min(counts), max(counts)
    if low == high:
        return
    for index, label in ((0, "wall"), (1, "cpu")):
        extra = {
            name: (medians[high][name][index] - medians[low][name][index]) / (high - low) * 1000
            for name in medians[low]
        }
        shown = "  ".join(f"{name} {ms:.1f} ms" for name, ms in extra.items())
        print(f"per extra host ({low} -> {high}) {label:4s} {shown}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
