"""Draw the operations report's charts with matplotlib, the ``report`` extra.

matplotlib is optional (``pip install 'opsbooks[report]'``): without it ``stats --format
markdown`` stops with a message saying how to install it, before writing anything. The
Agg backend draws to files only, so no display is needed (CI, ssh sessions).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from opsbooks.errors import BadInput
from opsbooks.govern.stats import Stats
from opsbooks.render.operations_report import CHARTS

_OUTCOME_COLOURS = {
    "succeeded": "#2e7d32",
    "succeeded_with_warnings": "#9e9d24",
    "failed": "#c62828",
    "rolled_back": "#ef6c00",
    "stopped": "#1565c0",
    "interrupted": "#6a1b9a",
    "abandoned": "#616161",
    "running": "#90a4ae",
}


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, or a ``BadInput`` naming the extra."""
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise BadInput(
            "the operations report draws its charts with matplotlib, which is not installed: "
            "install the report extra (pip install 'opsbooks[report]'), or use --format "
            "text or json, which need no charts"
        ) from None
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


def draw(stats: Stats, folder: Path) -> dict[str, str]:
    """Draw every chart that has data into ``folder``; return chart key -> file name."""
    plt = pyplot()
    drawn: dict[str, str] = {}
    for key, painter in (("runs", _runs), ("mttr", _mttr), ("drills", _drills)):
        name = CHARTS[key][0]
        figure, axes = plt.subplots(figsize=(7, 3.2), dpi=100)
        try:
            if painter(stats, axes):
                axes.set_title(CHARTS[key][1])
                figure.tight_layout()
                figure.savefig(folder / name)
                drawn[key] = name
        finally:
            plt.close(figure)
    return drawn


def _runs(stats: Stats, axes: Any) -> bool:
    days = sorted({day for day, _ in stats.timeline})
    if not days:
        return False
    bottom = [0] * len(days)
    for outcome in sorted({o for _, o in stats.timeline}):
        counts = [stats.timeline.get((day, outcome), 0) for day in days]
        colour = _OUTCOME_COLOURS.get(outcome, "#999999")
        axes.bar(days, counts, bottom=bottom, label=outcome, color=colour)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axes.set_ylabel("runs")
    axes.legend(fontsize="small")
    axes.tick_params(axis="x", labelrotation=30, labelsize="small")
    return True


def _mttr(stats: Stats, axes: Any) -> bool:
    if not stats.mttr:
        return False
    for item in stats.mttr:
        days = [day for day, _ in item.points]
        hours = [h for _, h in item.points]
        axes.plot(days, hours, marker="o", label=item.severity)
        if item.target_seconds is not None:
            axes.axhline(item.target_seconds / 3600, linestyle="--", linewidth=0.8)
    axes.set_ylabel("hours to resolve")
    axes.legend(fontsize="small")
    return True


def _drills(stats: Stats, axes: Any) -> bool:
    measured = [d for d in stats.drills if d.rto_seconds is not None]
    if not measured:
        return False
    labels = [f"{d.runbook}\n{d.run_id[:6]}" for d in measured]
    axes.bar(labels, [d.rto_seconds for d in measured], label="measured RTO", color="#1565c0")
    targets = [d.rto_target for d in measured]
    if any(t is not None for t in targets):
        axes.plot(labels, targets, "r_", markersize=30, label="RTO target")
    axes.set_ylabel("seconds")
    axes.legend(fontsize="small")
    axes.tick_params(axis="x", labelsize="x-small")
    return True
