"""Required monitors and how to find each in a vendor's exported configuration.

The required list (``REQUIRED``, or a JSON file of the same shape) names each monitor
by ``alert`` (the Prometheus alert name, also the monitor's name at each vendor, or a
tag/label ``monitor:<id>``), the comparison ``op`` and the ``threshold`` it must fire
at or before. A monitor whose threshold is laxer than required (fires later) counts as
missing its threshold. Exports read:

- Prometheus: rule files (``groups[].rules[]`` with ``alert`` and ``expr``); the
  threshold is the comparison that ends ``expr`` (``... > 0.05``).
- DataDog: ``GET /api/v1/monitor`` as JSON, a list of monitors with ``name``,
  ``query`` (ending ``> 0.05``), ``tags`` and ``options.thresholds.critical``.
- New Relic: NerdGraph ``nrqlConditionsSearch`` output (or its ``nrqlConditions``
  list): ``name``, ``enabled``, ``nrql.query`` and ``terms[]`` with ``priority``
  CRITICAL, ``operator`` (ABOVE, BELOW, ABOVE_OR_EQUALS...) and ``threshold``.
- Splunk: ``GET /servicesNS/-/-/saved/searches?output_mode=json``: ``entry[]`` with
  ``name`` and ``content`` (``search`` ending in ``where FIELD > 0.05``,
  ``is_scheduled``, ``disabled``, ``alert_type``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from opsbooks_playbooks.actions import ActionError, UsageError

Vendor = Literal["prometheus", "datadog", "newrelic", "splunk"]
_COMPARE = re.compile(r"(>=|<=|==|!=|>|<|=)\s*(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)\s*\)?\s*$")
_NR_OPS = {
    "ABOVE": ">",
    "ABOVE_OR_EQUALS": ">=",
    "BELOW": "<",
    "BELOW_OR_EQUALS": "<=",
    "EQUALS": "==",
    "NOT_EQUALS": "!=",
}


@dataclass(frozen=True)
class Required:
    """A monitor every service must have: fire when the figure ``op`` ``threshold``."""

    id: str
    alert: str
    op: str
    threshold: float
    summary: str

    def describe(self) -> str:
        return f"{self.alert} ({self.summary}, firing at {self.op} {self.threshold:g})"

    def accepts(self, op: str, threshold: float) -> bool:
        """Whether a monitor firing at ``op threshold`` fires no later than required."""
        op = "==" if op == "=" else op
        if op != self.op and {op, self.op} not in ({">", ">="}, {"<", "<="}):
            return False
        if self.op in (">", ">="):
            return threshold <= self.threshold
        if self.op in ("<", "<="):
            return threshold >= self.threshold
        return threshold == self.threshold


#: the monitors every production service has, with the thresholds the SRE team set
REQUIRED = (
    Required("instance_down", "InstanceDown", "==", 0, "a scrape target is down (up == 0)"),
    Required("error_rate", "HighErrorRate", ">", 0.05, "5xx ratio of requests above 5%"),
    Required("latency_p90", "HighLatencyP90", ">", 0.5, "p90 request latency above 500 ms"),
    Required("disk_usage", "DiskSpaceLow", ">", 0.85, "filesystem more than 85% full"),
    Required("memory_usage", "HighMemoryUsage", ">", 0.9, "memory more than 90% used"),
)


def load_required(path: str) -> tuple[Required, ...]:
    """The required monitors from a JSON file (a list of objects), or ``REQUIRED``."""
    if not path:
        return REQUIRED
    try:
        items = json.loads(Path(path).read_text())
        return tuple(
            Required(
                str(i["id"]),
                str(i["alert"]),
                str(i["op"]),
                float(i["threshold"]),
                str(i.get("summary", i["alert"])),
            )
            for i in items
        )
    except OSError as exc:
        raise UsageError(f"cannot read the required-monitor list {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{path} is not a list of {{id, alert, op, threshold, summary}} objects: {exc}"
        ) from None


@dataclass(frozen=True)
class Found:
    """A monitor read from an export: its names, comparison and whether it is on."""

    names: frozenset[str]
    op: str
    threshold: float | None
    enabled: bool = True


def comparison(text: str) -> tuple[str, float | None]:
    """The comparison that ends a query (``... > 0.05``), or ``("", None)``."""
    match = _COMPARE.search(text.strip())
    return (match.group(1), float(match.group(2))) if match else ("", None)


def _names(name: str, tags: Iterable[str]) -> frozenset[str]:
    found = {name.lower()}
    found |= {t.split(":", 1)[1].lower() for t in tags if t.startswith("monitor:")}
    return frozenset(found)


def _prometheus(path: Path) -> list[Found]:
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    found = []
    for group in data.get("groups", []):
        for rule in group.get("rules", []):
            if "alert" in rule:
                op, value = comparison(str(rule.get("expr", "")))
                tags = [f"monitor:{rule.get('labels', {}).get('monitor', '')}"]
                found.append(Found(_names(str(rule["alert"]), tags), op, value))
    return found


def _datadog(data: Any) -> list[Found]:
    found = []
    for monitor in data if isinstance(data, list) else data.get("monitors", []):
        op, value = comparison(str(monitor.get("query", "")))
        critical = monitor.get("options", {}).get("thresholds", {}).get("critical")
        if critical is not None and value is not None and float(critical) != value:
            value = None  # the query and options disagree: fix the monitor
        names = _names(str(monitor.get("name", "")), monitor.get("tags", []))
        found.append(Found(names, op, value))
    return found


def _newrelic(data: Any) -> list[Found]:
    if isinstance(data, dict):
        search = data.get("data", {}).get("actor", {}).get("account", {}).get("alerts", {})
        data = search.get("nrqlConditionsSearch", {}).get(
            "nrqlConditions", data.get("nrqlConditions", [])
        )
    found = []
    for condition in data:
        terms = [
            t for t in condition.get("terms", []) if t.get("priority", "").upper() == "CRITICAL"
        ]
        term = terms[0] if terms else {}
        op = _NR_OPS.get(str(term.get("operator", "")).upper(), "")
        value = float(term["threshold"]) if "threshold" in term else None
        names = _names(str(condition.get("name", "")), [])
        found.append(Found(names, op, value, bool(condition.get("enabled", True))))
    return found


def _splunk(data: Any) -> list[Found]:
    found = []
    for entry in data.get("entry", []) if isinstance(data, dict) else data:
        content = entry.get("content", {})
        op, value = comparison(str(content.get("search", "")))
        on = bool(content.get("is_scheduled", False)) and not _true(content.get("disabled", False))
        found.append(Found(_names(str(entry.get("name", "")), []), op, value, on))
    return found


def _true(value: object) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def read_export(vendor: Vendor, path: Path) -> list[Found]:
    """The monitors of a vendor export file (see the module docstring for each shape);
    a directory stands for every .yml/.yaml (Prometheus) or .json file in it."""
    if path.is_dir():
        suffixes = (".yml", ".yaml") if vendor == "prometheus" else (".json",)
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in suffixes)
        if not files:
            raise ActionError(f"{path} holds no {' or '.join(suffixes)} file to read")
        return [found for file in files for found in read_export(vendor, file)]
    try:
        if vendor == "prometheus":
            return _prometheus(path)
        data = json.loads(path.read_text())
    except OSError as exc:
        raise UsageError(f"cannot read the {vendor} export {path}: {exc.strerror}") from None
    except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError: both name the line
        raise ActionError(f"the {vendor} export {path} is not valid: {exc}") from None
    readers = {"datadog": _datadog, "newrelic": _newrelic, "splunk": _splunk}
    try:
        return readers[vendor](data)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ActionError(
            f"the {vendor} export {path} does not have the documented shape: {exc}"
        ) from None


_HOW = {
    "prometheus": "add an alerting rule `alert: {alert}` whose expr ends `{op} {threshold:g}`",
    "datadog": "create a monitor named {alert} (or tagged monitor:{id}) whose query ends "
    "`{op} {threshold:g}` with options.thresholds.critical = {threshold:g}",
    "newrelic": "create an enabled NRQL condition named {alert} with a CRITICAL term "
    "(operator for `{op}`, threshold {threshold:g})",
    "splunk": "save a scheduled, enabled search named {alert} ending "
    "`| where ... {op} {threshold:g}`",
}


def problems(vendor: Vendor, found: Sequence[Found], required: Sequence[Required]) -> list[str]:
    """What is missing or too lax, each with how to fix it; empty when all is there."""
    out = []
    for need in required:
        how = _HOW[vendor].format(
            alert=need.alert, id=need.id, op=need.op, threshold=need.threshold
        )
        matches = [f for f in found if {need.alert.lower(), need.id.lower()} & f.names]
        if not matches:
            out.append(f"missing monitor {need.describe()}: {how}")
        elif not any(f.enabled for f in matches):
            out.append(f"monitor {need.alert} is disabled or unscheduled: enable it")
        elif not any(f.threshold is not None and need.accepts(f.op, f.threshold) for f in matches):
            have = ", ".join(
                f"{f.op or '?'} {f.threshold if f.threshold is not None else '?'}" for f in matches
            )
            wanted = f"{need.op} {need.threshold:g}"
            out.append(f"monitor {need.alert} fires at {have}, not {wanted} or stricter: {how}")
    return out
