"""Measurements a run records: metric lines printed by steps, and RTO/RPO against targets.

A step reports a figure by printing a line ``::metric NAME=VALUE`` (for example a
backup action printing ``::metric rpo_seconds=42.0``); the runner collects them.
Recovery time is measured between the ends of the runbook's ``rto_steps``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from opsbooks.define.policies import seconds

_METRIC = re.compile(r"^::metric\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$")


def metric_lines(output: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for line in output.splitlines():
        match = _METRIC.match(line.strip())
        if match:
            name, raw = match.groups()
            try:
                found[name] = float(raw)
            except ValueError:
                found[name] = raw
    return found


def recovery_figures(
    *,
    rto_target: str,
    rpo_target: str,
    rto_steps: tuple[str, str] | None,
    finished_at: Mapping[str, float],
    metrics: Mapping[str, Any],
) -> dict[str, Any]:
    """RTO from the step end times, RPO from a reported metric, each against its target."""
    out: dict[str, Any] = {}
    if rto_steps is not None and all(step in finished_at for step in rto_steps):
        start, end = rto_steps
        out["rto_seconds"] = round(finished_at[end] - finished_at[start], 3)
        if rto_target:
            out["rto_target_seconds"] = seconds(rto_target)
            out["rto_met"] = out["rto_seconds"] <= out["rto_target_seconds"]
    rpo = metrics.get("rpo_seconds")
    if isinstance(rpo, float):
        out["rpo_seconds"] = rpo
        if rpo_target:
            out["rpo_target_seconds"] = seconds(rpo_target)
            out["rpo_met"] = rpo <= out["rpo_target_seconds"]
    return out


def last_success_times(transitions: Iterable[Any]) -> dict[str, float]:
    times: dict[str, float] = {}
    for t in transitions:
        if getattr(t.status, "value", t.status) == "succeeded":
            times[t.step_id] = float(t.at)
    return times
