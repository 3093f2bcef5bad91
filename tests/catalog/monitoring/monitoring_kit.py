"""One real Prometheus and one real Alertmanager on loopback for the whole session.

Prometheus scrapes the kit's exporter every second, evaluates ``RULES`` every second
and sends to the Alertmanager; it starts with ``HISTORY`` backfilled: an SLA series
with a known outage, a week of linearly growing disk use, and two hours of HTTP
traffic whose second hour is slower and fails more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from opsbooks.testing.prometheus import (
    AlertmanagerServer,
    Exporter,
    PrometheusServer,
    alertmanager_server,
    metrics_exporter,
    openmetrics,
    prometheus_server,
)

RULES = """\
groups:
  - name: test
    rules:
      - alert: QueueBacklog
        expr: app_queue_depth{service="queue"} > 100
        labels: {severity: critical, runbook: ops.queue_drain, service: queue}
        annotations: {summary: "queue depth above 100"}
      - alert: GhostAlert
        expr: app_ghost_errors{service="ghost"} > 0
        labels: {severity: warning, runbook: ops.no_such_runbook, service: ghost}
"""

DAY = 86400.0
SLA_DOWN_SAMPLES = 72  # one-minute samples down in the last day: availability 0.95
CAP_START_USAGE, CAP_GROWTH_PER_DAY = 0.60, 0.01


@dataclass(frozen=True)
class History:
    """The times the backfilled series are anchored to (epoch seconds)."""

    sla_end: float
    cap_start: float
    perf_start: float

    @property
    def perf_good(self) -> float:
        return self.perf_start + 50 * 60

    @property
    def perf_bad(self) -> float:
        return self.perf_start + 110 * 60

    def cap_reaches(self, level: float) -> float:
        return self.cap_start + (level - CAP_START_USAGE) / CAP_GROWTH_PER_DAY * DAY


@dataclass(frozen=True)
class Monitoring:
    prometheus: PrometheusServer
    alertmanager: AlertmanagerServer
    exporter: Exporter
    history: History


def _sla(end: float) -> list[tuple[str, dict[str, str], float, float]]:
    labels = {"job": "sla_api", "instance": "api-1:8080"}
    down_from = end - 10 * 3600
    out = []
    for k in range(1439, -1, -1):
        at = end - k * 60
        down = down_from <= at < down_from + SLA_DOWN_SAMPLES * 60
        out.append(("up", labels, 0.0 if down else 1.0, at))
    return out


def _capacity(start: float, end: float) -> list[tuple[str, dict[str, str], float, float]]:
    labels = {"job": "cap_node", "instance": "db-1:9100", "mountpoint": "/var", "fstype": "ext4"}
    size = 1e12
    out: list[tuple[str, dict[str, str], float, float]] = []
    steps = int((end - start) // 60)
    for k in range(steps + 1):
        at = start + k * 60
        usage = CAP_START_USAGE + CAP_GROWTH_PER_DAY * (at - start) / DAY
        out.append(("node_filesystem_avail_bytes", labels, round(size * (1 - usage)), at))
    out += [("node_filesystem_size_bytes", labels, size, start + k * 60) for k in range(steps + 1)]
    mem = {"job": "cap_node", "instance": "db-1:9100"}
    out += [
        ("node_memory_MemAvailable_bytes", mem, 8e9, start + k * 600)
        for k in range(steps // 10 + 1)
    ]
    out += [
        ("node_memory_MemTotal_bytes", mem, 16e9, start + k * 600) for k in range(steps // 10 + 1)
    ]
    return out


_GOOD = {"ok": 99, "err": 1, "buckets": (50, 95, 99, 100, 100)}
_BAD = {"ok": 97, "err": 3, "buckets": (10, 30, 60, 95, 100)}
_LE = ("0.1", "0.25", "0.5", "1", "+Inf")


def _performance(start: float) -> list[tuple[str, dict[str, str], float, float]]:
    job = {"job": "perf_app", "instance": "app-1:8080"}
    ok = err = 0.0
    buckets = [0.0] * len(_LE)
    rows: dict[str, list[tuple[str, dict[str, str], float, float]]] = {}
    for k in range(2 * 240 + 1):  # every 15 s for two hours
        at = start + k * 15
        phase = _GOOD if at < start + 3600 else _BAD
        if k:
            ok += 15 * phase["ok"]  # type: ignore[operator]
            err += 15 * phase["err"]  # type: ignore[operator]
            buckets = [b + 15 * n for b, n in zip(buckets, phase["buckets"], strict=True)]  # type: ignore[call-overload]
        rows.setdefault("ok", []).append(("http_requests_total", {**job, "code": "200"}, ok, at))
        rows.setdefault("err", []).append(("http_requests_total", {**job, "code": "500"}, err, at))
        for le, value in zip(_LE, buckets, strict=True):
            name = "http_request_duration_seconds_bucket"
            rows.setdefault(le, []).append((name, {**job, "le": le}, value, at))
    return [row for series in rows.values() for row in series]


@pytest.fixture(scope="session")
def monitoring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitoring]:
    """Exporter, Alertmanager and Prometheus (with ``RULES`` and the history)."""
    now = float(int(time.time()))
    history = History(sla_end=now - 120, cap_start=now - 7 * DAY, perf_start=now - 3 * 3600)
    samples = [
        *_sla(history.sla_end),
        *_capacity(history.cap_start, now - 60),
        *_performance(history.perf_start),
    ]
    root: Path = tmp_path_factory.mktemp("monitoring")
    with metrics_exporter() as exporter, alertmanager_server(root / "am") as am:
        exporter.set("app_queue_depth", 3, service="queue")
        exporter.set("app_ghost_errors", 0, service="ghost")
        with prometheus_server(
            root / "prom",
            scrape=[exporter],
            alertmanager=am,
            rules={"test": RULES},
            history=openmetrics(samples),
        ) as prom:
            yield Monitoring(prom, am, exporter, history)
