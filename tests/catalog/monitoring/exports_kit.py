"""Exported monitoring configurations for the tests: Prometheus rules and the DataDog,
New Relic and Splunk exports in their documented shapes, complete unless told."""

from __future__ import annotations

import json
from pathlib import Path

RULES_OK = """\
groups:
  - name: golden-signals
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 2m
        labels: {severity: critical}
      - alert: HighErrorRate
        expr: >-
          sum(rate(http_requests_total{code=~"5.."}[5m]))
          / sum(rate(http_requests_total[5m])) > 0.05
        labels: {severity: critical}
      - alert: HighLatencyP90
        expr: >-
          histogram_quantile(0.9,
          sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.4
        labels: {severity: warning}
      - alert: DiskSpaceLow
        expr: 1 - node_filesystem_avail_bytes / node_filesystem_size_bytes > 0.85
        labels: {severity: warning}
      - alert: HighMemoryUsage
        expr: 1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes > 0.9
        labels: {severity: warning}
"""


def datadog(skip: str = "") -> list[dict[str, object]]:
    monitors = [
        ("InstanceDown", "max(last_5m):avg:up{*} by {host} == 0", 0),
        (
            "HighErrorRate",
            "sum(last_5m):sum:trace.http.request.errors{*} / sum:trace.http.request.hits{*} > 0.05",
            0.05,
        ),
        ("HighLatencyP90", "avg(last_5m):p90:trace.http.request{*} > 0.5", 0.5),
        ("DiskSpaceLow", "avg(last_5m):avg:system.disk.in_use{*} by {device} > 0.85", 0.85),
        ("HighMemoryUsage", "avg(last_5m):1 - avg:system.mem.pct_usable{*} > 0.9", 0.9),
    ]
    return [
        {
            "name": n,
            "type": "metric alert",
            "query": q,
            "tags": [],
            "options": {"thresholds": {"critical": t}},
        }
        for n, q, t in monitors
        if n != skip
    ]


def newrelic(error_threshold: float) -> dict[str, object]:
    terms = {
        "InstanceDown": ("EQUALS", 0),
        "HighErrorRate": ("ABOVE", error_threshold),
        "HighLatencyP90": ("ABOVE", 0.5),
        "DiskSpaceLow": ("ABOVE", 0.85),
        "HighMemoryUsage": ("ABOVE", 0.9),
    }
    conditions = [
        {
            "name": name,
            "enabled": True,
            "nrql": {"query": "SELECT ..."},
            "terms": [
                {
                    "priority": "CRITICAL",
                    "operator": op,
                    "threshold": value,
                    "thresholdDuration": 300,
                }
            ],
        }
        for name, (op, value) in terms.items()
    ]
    return {
        "data": {
            "actor": {
                "account": {"alerts": {"nrqlConditionsSearch": {"nrqlConditions": conditions}}}
            }
        }
    }


def splunk() -> dict[str, object]:
    searches = {
        "InstanceDown": "index=health | stats latest(up) as up by host | where up == 0",
        "HighErrorRate": "index=web | stats count(eval(status>=500)) as e count as n "
        "| eval r=e/n | where r > 0.05",
        "HighLatencyP90": "index=web | stats perc90(duration) as p90 | where p90 > 0.5",
        "DiskSpaceLow": "index=os sourcetype=df | where use_ratio > 0.85",
        "HighMemoryUsage": "index=os sourcetype=vmstat | where mem_used_ratio > 0.9",
    }
    return {
        "entry": [
            {"name": n, "content": {"search": s, "is_scheduled": True, "disabled": False}}
            for n, s in searches.items()
        ]
    }


def exports(root: Path, *, datadog_skip: str = "", newrelic_error: float = 0.05) -> dict[str, str]:
    rules = root / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "golden.yml").write_text(RULES_OK)
    files = {
        "datadog_export": datadog(datadog_skip),
        "newrelic_export": newrelic(newrelic_error),
        "splunk_export": splunk(),
    }
    params = {"rules": str(rules)}
    for key, data in files.items():
        (root / f"{key}.json").write_text(json.dumps(data))
        params[key] = str(root / f"{key}.json")
    return params
