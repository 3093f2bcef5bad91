"""Timing helpers: whole processes (wall and CPU), interleaved repetitions, medians.

CPU of a child process is read from ``RUSAGE_CHILDREN`` before and after it is reaped,
so it counts the child and every descendant it waited for (ansible's forks, invoke's
shells), never the long-running sshd servers the bench started itself.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent

#: a discarded warm-up round before the measured ones; ``--quick`` turns it off
SETTINGS = {"warmup": True}


@dataclass(frozen=True)
class Sample:
    """One timed repetition: seconds of wall clock and of CPU (user + system)."""

    wall: float
    cpu: float


class BenchFailed(RuntimeError):
    """A measured command failed: the figure would be a lie, so the row is not printed."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_process(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None) -> Sample:
    """Run ``argv`` to completion, output discarded; fail loudly if it fails."""
    full_env = {**os.environ, **(env or {})}
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        list(argv),
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-800:]
        raise BenchFailed(f"{' '.join(argv)} exited {done.returncode} in {cwd}:\n{tail}")
    return Sample(wall, cpu)


def run_inline(action: Callable[[], object]) -> Sample:
    """Time an in-process callable (CPU of this process only)."""
    cpu_before = time.process_time()
    started = time.perf_counter()
    action()
    return Sample(time.perf_counter() - started, time.process_time() - cpu_before)


def interleave(
    variants: Mapping[str, Callable[[], Sample]], reps: int, *, warmup: bool | None = None
) -> dict[str, list[Sample]]:
    """Run every variant once per round, alternating the order, ``reps`` rounds.

    Drift on a noisy machine (another engineer's test run, a CPU-frequency change) then
    hits every variant alike; a warm-up round fills the page cache and is discarded.
    """
    names = list(variants)
    if SETTINGS["warmup"] if warmup is None else warmup:
        for name in names:
            variants[name]()
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for number in range(reps):
        order = names if number % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(variants[name]())
    return samples


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def spread(values: Sequence[float]) -> list[float]:
    """The lowest and highest repetition, so a reader sees how noisy the median is."""
    return [round(min(values), 6), round(max(values), 6)]


@dataclass
class Row:
    """One line of the table: ours against a baseline, as a ratio of medians."""

    row: int
    name: str
    case: str
    ours: str
    baseline: str
    target: str = ""
    unit: str = "s"
    ours_value: float | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    met: bool | None = None
    skipped: str | None = None
    spread_ours: list[float] = field(default_factory=list)
    spread_baseline: list[float] = field(default_factory=list)
    reps: int = 0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def compare(
    row: int,
    name: str,
    case: str,
    *,
    ours: str,
    baseline: str,
    ours_values: Sequence[float],
    baseline_values: Sequence[float],
    target_ratio: float | None = None,
    target: str = "",
    unit: str = "s",
    note: str = "",
) -> Row:
    """A row from repetitions: ratio of medians, met when at or under ``target_ratio``."""
    mine, theirs = median(ours_values), median(baseline_values)
    ratio = mine / theirs if theirs > 0 else float("inf")
    return Row(
        row=row,
        name=name,
        case=case,
        ours=ours,
        baseline=baseline,
        target=target or (f"<= {target_ratio}x" if target_ratio is not None else ""),
        unit=unit,
        ours_value=round(mine, 6),
        baseline_value=round(theirs, 6),
        ratio=round(ratio, 3),
        met=None if target_ratio is None else ratio <= target_ratio,
        spread_ours=spread(ours_values),
        spread_baseline=spread(baseline_values),
        reps=len(ours_values),
        note=note,
    )


def skipped(row: int, name: str, case: str, *, ours: str, baseline: str, reason: str) -> Row:
    """A row whose baseline (or ours) cannot run here: no figure, and why."""
    return Row(row=row, name=name, case=case, ours=ours, baseline=baseline, skipped=reason)
