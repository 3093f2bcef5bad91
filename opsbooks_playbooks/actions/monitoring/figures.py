"""Performance baselines and SLO figures read from Prometheus.

The queries are the ones an SRE types in the Prometheus UI, for one ``job``:

- request rate: ``sum(rate(http_requests_total{job="J"}[W]))``
- error ratio: 5xx requests over all requests, same window
- p90 latency: ``histogram_quantile(0.9, sum by (le) (rate(..._bucket{job="J"}[W])))``
- availability: ``avg_over_time(up{job="J"}[WINDOW])``, or successes over totals
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opsbooks_playbooks.actions import ActionError, UsageError, write_atomic
from opsbooks_playbooks.actions.monitoring.api import Prometheus, iso


def performance_queries(job: str, window: str) -> dict[str, str]:
    """Name -> PromQL of the figures a baseline records."""
    sel = f'job="{job}"'
    total = f"sum(rate(http_requests_total{{{sel}}}[{window}]))"
    return {
        "request_rate": total,
        "error_ratio": f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[{window}])) / {total}',
        "p90_latency_seconds": "histogram_quantile(0.9, sum by (le) "
        f"(rate(http_request_duration_seconds_bucket{{{sel}}}[{window}])))",
    }


def measure(prom: Prometheus, job: str, window: str, at: float) -> dict[str, float]:
    """The figures at ``at``; a query with no data is an error naming it."""
    figures: dict[str, float] = {}
    for name, expr in performance_queries(job, window).items():
        value = prom.scalar(expr, at)
        if value is None:
            raise ActionError(
                f"no data for {name} (`{expr}`) at {iso(at)}: check that job {job!r} is "
                f"scraped and exports http_requests_total and http_request_duration_seconds"
            )
        figures[name] = 0.0 if value != value else value  # NaN: no errors and no requests
    return figures


def save_baseline(
    path: Path, job: str, window: str, at: float, figures: Mapping[str, float]
) -> None:
    data = {"job": job, "window": window, "at": iso(at), "figures": dict(figures)}
    write_atomic(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def load_baseline(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
        assert isinstance(data, dict) and isinstance(data["figures"], dict)
        return data
    except OSError as exc:
        raise UsageError(
            f"no baseline at {path} ({exc.strerror}); record one first with mode=record"
        ) from None
    except (ValueError, KeyError, AssertionError):
        raise UsageError(f"{path} is not a baseline file written by this runbook") from None


def regressions(
    base: Mapping[str, float], now: Mapping[str, float], tolerance: float, error_points: float
) -> list[str]:
    """Each figure worse than the baseline beyond tolerance, with both numbers."""
    out = []
    rate0, rate1 = base["request_rate"], now["request_rate"]
    if rate0 > 0 and rate1 < rate0 * (1 - tolerance):
        out.append(
            f"request rate fell {100 * (1 - rate1 / rate0):.0f}%: "
            f"{rate1:.3g}/s against {rate0:.3g}/s"
        )
    err0, err1 = base["error_ratio"], now["error_ratio"]
    if err1 > err0 + error_points:
        out.append(
            f"error ratio rose to {100 * err1:.2f}% from {100 * err0:.2f}% "
            f"(allowed +{100 * error_points:.2f} points)"
        )
    lat0, lat1 = base["p90_latency_seconds"], now["p90_latency_seconds"]
    if lat1 > lat0 * (1 + tolerance):
        out.append(
            f"p90 latency rose {100 * (lat1 / lat0 - 1):.0f}%: "
            f"{1000 * lat1:.0f} ms against {1000 * lat0:.0f} ms"
        )
    return out


@dataclass(frozen=True)
class Budget:
    """Availability against an SLO over a window, and what is left of the error budget."""

    availability: float
    target: float
    window_seconds: float

    @property
    def burn_rate(self) -> float:
        """How fast the budget burns: 1 spends exactly the budget over the window."""
        return (1 - self.availability) / (1 - self.target)

    @property
    def budget_seconds(self) -> float:
        return (1 - self.target) * self.window_seconds

    @property
    def spent_seconds(self) -> float:
        return (1 - self.availability) * self.window_seconds

    @property
    def remaining_ratio(self) -> float:
        return 1 - self.spent_seconds / self.budget_seconds

    def verdict(self, burns: tuple[float, float], fast: float, slow: float) -> str:
        """``exhausted`` (no budget left), ``fast-burn`` (the 1h burn rate at or above
        ``fast``: page), ``slow-burn`` (the 6h one at or above ``slow``: ticket), ``ok``.

        ``burns`` are the burn rates over the short windows (1h, 6h), as the SRE
        workbook's multi-window alerts read them.
        """
        if self.remaining_ratio <= 0:
            return "exhausted"
        if burns[0] >= fast:
            return "fast-burn"
        if burns[1] >= slow:
            return "slow-burn"
        return "ok"


#: the short windows of the burn-rate verdict, in seconds
BURN_WINDOWS = (("1h", 3600.0), ("6h", 21600.0))


def availability_query(job: str, window: str, source: str) -> str:
    """PromQL of availability: the ``up`` series, or successful over total requests."""
    if source == "up":
        return f'avg(avg_over_time(up{{job="{job}"}}[{window}]))'
    total = f'sum(increase(http_requests_total{{job="{job}"}}[{window}]))'
    return f'1 - sum(increase(http_requests_total{{job="{job}",code=~"5.."}}[{window}])) / {total}'


def history_availability(path: Path, since: float, until: float) -> float:
    """Availability from a health-check history: lines ``EPOCH_OR_ISO ok|fail``; each
    check stands for the time until the next one."""
    from opsbooks_playbooks.actions.monitoring.api import when

    rows: list[tuple[float, bool]] = []
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the health-check history {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        stamp, _, state = line.strip().partition(" ")
        if state.strip() not in ("ok", "fail"):
            raise UsageError(f"{path}:{number}: expected `TIME ok` or `TIME fail`, got {line!r}")
        at = float(stamp) if stamp.replace(".", "").isdigit() else when(stamp, 0)
        rows.append((at, state.strip() == "ok"))
    rows = sorted(r for r in rows if since <= r[0] <= until)
    if len(rows) < 2:
        raise ActionError(f"{path} has fewer than two checks in the window; nothing to compute")
    up = sum(b[0] - a[0] for a, b in itertools.pairwise(rows) if a[1])
    return up / (rows[-1][0] - rows[0][0])
