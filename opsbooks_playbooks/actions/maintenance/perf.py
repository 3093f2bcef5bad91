"""A performance investigation's figures: database, endpoints, host; a baseline comparison.

Each collector writes one JSON file into the investigation's folder and prints its
headline figures as ``::metric`` lines. ``report`` flattens them into named figures
(``endpoint <url> p95_ms``, ``host load_per_cpu``...), compares each with the stored
baseline, and writes a Markdown findings report. A figure is a regression when it is
worse than the baseline by more than the allowed percentage.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opsbooks_playbooks.actions import write_atomic
from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError
from opsbooks_playbooks.actions.db.postgres import Target, psql

#: Figures where a smaller value is worse; every other figure is worse when larger.
LOWER_IS_WORSE = ("mem_available_pct",)

STATEMENTS_SQL = """
SELECT coalesce(json_agg(row_to_json(t)), '[]') FROM (
  SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query, calls,
         round(mean_exec_time::numeric, 3) AS mean_ms,
         round(total_exec_time::numeric, 3) AS total_ms
  FROM pg_stat_statements
  WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  ORDER BY mean_exec_time DESC LIMIT 10
) AS t
""".strip()

ACTIVITY_SQL = """
SELECT json_build_object(
  'sessions', count(*),
  'active', count(*) FILTER (WHERE state = 'active'),
  'waiting', count(*) FILTER (WHERE state = 'active'
      AND wait_event_type IN ('Lock', 'LWLock', 'IO')),
  'idle_in_transaction', count(*) FILTER (WHERE state LIKE 'idle in transaction%'),
  'longest_active_seconds', coalesce(round(max(extract(epoch FROM now() - query_start))
      FILTER (WHERE state = 'active')::numeric, 3), 0),
  'longest_query', (SELECT left(query, 200) FROM pg_stat_activity a
      WHERE a.state = 'active' AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
      ORDER BY query_start LIMIT 1))
FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
""".strip()


def _save(out: Path, data: dict[str, Any]) -> None:
    write_atomic(out, json.dumps(data, indent=2, sort_keys=True).encode())


def database(target: Target, out: Path, *, snapshots: int = 3, interval: float = 1.0) -> str:
    """pg_stat_statements' slowest statements when installed, else pg_stat_activity snapshots."""
    has = psql(target, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
    lines: list[str] = []
    data: dict[str, Any]
    if has == "1":
        rows = json.loads(psql(target, STATEMENTS_SQL, what="read pg_stat_statements") or "[]")
        data = {"source": "pg_stat_statements", "statements": rows}
        slowest = float(rows[0]["mean_ms"]) if rows else 0.0
        lines += [f"{r['mean_ms']} ms mean, {r['calls']} calls: {r['query']}" for r in rows[:5]]
        lines.append(f"::metric db_slowest_mean_ms={slowest}")
    else:
        taken = []
        for i in range(max(1, snapshots)):
            if i:
                time.sleep(interval)
            taken.append(json.loads(psql(target, ACTIVITY_SQL, what="snapshot pg_stat_activity")))
        data = {"source": "pg_stat_activity", "snapshots": taken}
        peak = {k: max(float(s[k]) for s in taken) for k in ("active", "waiting")}
        longest = max(float(s["longest_active_seconds"]) for s in taken)
        lines.append(
            f"pg_stat_statements is not installed; {len(taken)} pg_stat_activity snapshots: "
            f"peak {peak['active']:.0f} active, {peak['waiting']:.0f} waiting, longest "
            f"active query {longest:.3f} s"
        )
        lines += [
            f"::metric db_active_sessions={peak['active']:.0f}",
            f"::metric db_waiting_sessions={peak['waiting']:.0f}",
            f"::metric db_longest_active_seconds={longest}",
        ]
    _save(out, data)
    return "\n".join(lines)


def _time_one(url: str, timeout: float) -> tuple[float, int | None]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            answer.read()
            status: int | None = int(answer.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError):
        status = None
    return (time.perf_counter() - started) * 1000, status


def endpoints(urls: Sequence[str], out: Path, *, samples: int = 5, timeout: float = 10.0) -> str:
    """Time ``samples`` GETs of each URL; slowest (by p95) first.

    An item may hold several URLs separated by spaces (how a runbook's list param
    reaches one argument); a URL itself never contains a space.
    """
    urls = [part for item in urls for part in item.split()]
    if not urls:
        raise DbUsageError("give at least one --url to measure")
    bad = [u for u in urls if not u.startswith(("http://", "https://"))]
    if bad:
        raise DbUsageError(f"not an http(s) URL: {', '.join(bad)}")
    found = []
    for url in urls:
        times, statuses = zip(
            *(_time_one(url, timeout) for _ in range(max(1, samples))), strict=True
        )
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        errors = sum(1 for s in statuses if s is None or s >= 500)
        found.append(
            {
                "url": url,
                "p50_ms": round(statistics.median(ordered), 3),
                "p95_ms": round(p95, 3),
                "max_ms": round(ordered[-1], 3),
                "errors": errors,
                "statuses": sorted({str(s) for s in statuses}),
            }
        )
    found.sort(key=lambda e: e["p95_ms"], reverse=True)
    _save(out, {"endpoints": found})
    lines = [
        f"{e['url']}: p50 {e['p50_ms']} ms, p95 {e['p95_ms']} ms, max {e['max_ms']} ms, "
        f"errors {e['errors']}/{samples} (status {', '.join(e['statuses'])})"
        for e in found
    ]
    lines.append(f"::metric slowest_endpoint_p95_ms={found[0]['p95_ms']}")
    lines.append(f"::metric endpoint_errors={sum(e['errors'] for e in found)}")
    return "\n".join(lines)


def _meminfo() -> dict[str, int]:
    values = {}
    for line in Path("/proc/meminfo").read_text().splitlines():
        name, _, rest = line.partition(":")
        values[name] = int(rest.split()[0]) * 1024
    return values


def _pressure() -> dict[str, float]:
    found = {}
    for kind in ("cpu", "memory", "io"):
        try:
            first = Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]
        except (OSError, IndexError):
            continue
        fields = dict(part.split("=", 1) for part in first.split()[1:])
        found[f"psi_{kind}_some_avg10"] = float(fields.get("avg10", 0.0))
    return found


def host(out: Path, *, disk: Path = Path("/")) -> str:
    """Load per CPU, available memory, PSI (when the kernel has it) and disk use."""
    load1, load5, load15 = os.getloadavg()
    cpus = os.cpu_count() or 1
    mem = _meminfo()
    usage = shutil.disk_usage(disk)
    data: dict[str, Any] = {
        "load_1m": load1,
        "load_5m": load5,
        "load_15m": load15,
        "cpus": cpus,
        "load_per_cpu": round(load1 / cpus, 3),
        "mem_available_pct": round(100 * mem["MemAvailable"] / mem["MemTotal"], 2),
        "disk_used_pct": round(100 * usage.used / usage.total, 2),
        **_pressure(),
    }
    _save(out, data)
    keys = ("load_per_cpu", "mem_available_pct", "disk_used_pct")
    lines = [f"{key}: {value}" for key, value in data.items()]
    lines += [f"::metric {key}={data[key]}" for key in keys]
    return "\n".join(lines)


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DbError(f"cannot read {path}: {exc}") from None
    return data


def flatten(folder: Path) -> dict[str, float]:
    """The named figures of one investigation folder."""
    figures: dict[str, float] = {}
    for e in _read(folder / "endpoints.json").get("endpoints", []):
        figures[f"endpoint {e['url']} p95_ms"] = float(e["p95_ms"])
        figures[f"endpoint {e['url']} errors"] = float(e["errors"])
    hostdata = _read(folder / "host.json")
    for key in ("load_per_cpu", "mem_available_pct", "disk_used_pct"):
        if key in hostdata:
            figures[f"host {key}"] = float(hostdata[key])
    dbdata = _read(folder / "database.json")
    for s in dbdata.get("statements", [])[:10]:
        figures[f"db statement {s['query'][:80]} mean_ms"] = float(s["mean_ms"])
    for key in ("waiting", "longest_active_seconds"):
        snaps = dbdata.get("snapshots", [])
        if snaps:
            figures[f"db {key}"] = max(float(x[key]) for x in snaps)
    return figures


def compare(now: dict[str, float], base: dict[str, float], pct: float) -> list[str]:
    """One finding per figure worse than the baseline by more than ``pct`` percent."""
    findings = []
    for name, value in sorted(now.items()):
        old = base.get(name)
        if old is None:
            continue
        lower_worse = name.endswith(LOWER_IS_WORSE)
        worse = value < old * (1 - pct / 100) if lower_worse else value > old * (1 + pct / 100)
        if worse and abs(value - old) > 1e-9 and (old or value > 0):
            findings.append(f"{name}: {value:g} now, baseline {old:g} (more than {pct:g}% worse)")
    return findings
