"""Capacity figures: this host's disk, memory and CPU now, and growth trends from
Prometheus projected to the day each resource reaches its threshold.

Local figures come from ``df -P`` (used/size per mount), ``/proc/meminfo``
(1 - MemAvailable/MemTotal) and ``/proc/loadavg`` over ``os.cpu_count()``. Trends fit a
least-squares line (as ``predict_linear`` does) through a range query of
``1 - node_filesystem_avail_bytes / node_filesystem_size_bytes`` per mount point and
``1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes`` for the job.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from opsbooks_playbooks.actions import ActionError
from opsbooks_playbooks.actions.monitoring.api import Prometheus, crossing, linear_fit


@dataclass(frozen=True)
class Figure:
    """One resource: where it is now, its threshold, and (for a trend) when it gets there."""

    resource: str
    current: float
    threshold: float
    growth_per_day: float | None = None
    reaches: float | None = None

    @property
    def over(self) -> bool:
        return self.current >= self.threshold

    def line(self) -> str:
        now = f"{100 * self.current:.1f}%" if self.resource != "load" else f"{self.current:.2f}"
        limit = (
            f"{100 * self.threshold:.0f}%" if self.resource != "load" else f"{self.threshold:.2f}"
        )
        text = f"| {self.resource} | {now} | {limit} |"
        if self.growth_per_day is None:
            return text + " - | - |"
        growth = f"{100 * self.growth_per_day:+.2f} points/day"
        if self.reaches is None:
            return text + f" {growth} | not growing |"
        return text + f" {growth} | {day(self.reaches)} |"


def day(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d")


def local_disks(paths: list[str], threshold: float) -> list[Figure]:
    """``df -P`` of each path: the share of its filesystem in use."""
    result = subprocess.run(["df", "-P", *paths], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ActionError(f"df -P {' '.join(paths)} failed: {result.stderr.strip()}")
    figures = []
    for row in result.stdout.splitlines()[1:]:
        cols = row.split()
        used, avail, mount = int(cols[2]), int(cols[3]), cols[5]
        share = used / (used + avail) if used + avail else 0.0
        figures.append(Figure(f"local disk {mount}", share, threshold))
    return figures


def local_memory(threshold: float, meminfo: Path = Path("/proc/meminfo")) -> Figure:
    fields = {}
    for line in meminfo.read_text().splitlines():
        key, _, rest = line.partition(":")
        fields[key] = int(rest.split()[0])
    used = 1 - fields["MemAvailable"] / fields["MemTotal"]
    return Figure("local memory", used, threshold)


def local_load(threshold: float, loadavg: Path = Path("/proc/loadavg")) -> Figure:
    """The 15-minute load average per CPU (1.0: every CPU busy all the time)."""
    fifteen = float(loadavg.read_text().split()[2])
    return Figure("load", fifteen / (os.cpu_count() or 1), threshold)


def trends(
    prom: Prometheus, job: str, lookback: float, now: float, disk: float, memory: float
) -> list[Figure]:
    """Disk per mount point and memory of ``job``, each fitted over ``lookback``."""
    sel = f'job="{job}"'
    queries = {
        "disk": (
            f"1 - node_filesystem_avail_bytes{{{sel}}} / node_filesystem_size_bytes{{{sel}}}",
            disk,
        ),
        "memory": (
            f"1 - node_memory_MemAvailable_bytes{{{sel}}} / node_memory_MemTotal_bytes{{{sel}}}",
            memory,
        ),
    }
    step = max(60.0, lookback / 500)
    figures = []
    for kind, (expr, threshold) in queries.items():
        for series in prom.query_range(expr, now - lookback, now, step):
            points = [(float(t), float(v)) for t, v in series["values"]]
            slope, intercept = linear_fit(points)
            where = series["metric"].get("mountpoint", series["metric"].get("instance", job))
            reaches = crossing(slope, intercept, threshold, now)
            current = points[-1][1]
            if current >= threshold:
                reaches = now
            figures.append(Figure(f"{kind} {where}", current, threshold, slope * 86400, reaches))
    if not figures:
        raise ActionError(
            f"Prometheus has no node_filesystem/node_memory series for job {job!r} in the "
            f"last {lookback / 86400:.1f} days; check that node_exporter is scraped as {job}"
        )
    return figures


def report(figures: list[Figure], now: float, horizon_days: float) -> str:
    """The Markdown capacity report, with the trigger dates within the horizon first."""
    soon = [f for f in figures if f.reaches is not None and f.reaches - now <= horizon_days * 86400]
    lines = [f"# Capacity report {day(now)}", ""]
    if soon:
        lines += [f"## Triggers within {horizon_days:g} days", ""]
        lines += [
            f"- {f.resource} reaches {100 * f.threshold:.0f}% on {day(f.reaches or now)}"
            for f in soon
        ]
        lines.append("")
    lines += [
        "## Figures",
        "",
        "| Resource | Now | Threshold | Growth | Reaches threshold |",
        "| --- | --- | --- | --- | --- |",
        *(f.line() for f in figures),
        "",
    ]
    return "\n".join(lines)
