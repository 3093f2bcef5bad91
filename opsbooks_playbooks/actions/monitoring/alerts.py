"""Firing alerts from Alertmanager: read, order, silence, classify.

Alerts are ordered most severe first (``severity`` label: critical, error/high,
warning, info; or SEV1..SEV4), then oldest first. A silence matches every label of
its alert exactly, as ``amtool silence add`` with all labels would.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opsbooks_playbooks.actions import ActionError, UsageError, write_atomic

_RANK = {
    "sev1": 0,
    "critical": 0,
    "page": 0,
    "sev2": 1,
    "error": 1,
    "high": 1,
    "sev3": 2,
    "warning": 2,
    "medium": 2,
    "sev4": 3,
    "info": 3,
    "low": 3,
}
#: the urgency an alert's severity label stands for, for the incident policy's matrix
URGENCY = {
    "critical": "critical",
    "page": "critical",
    "error": "high",
    "high": "high",
    "warning": "medium",
    "medium": "medium",
    "info": "low",
    "low": "low",
}


def labels(alert: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in alert.get("labels", {}).items()}


def ordered(alerts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Most severe first, then the one firing longest."""

    def key(alert: Mapping[str, Any]) -> tuple[int, str]:
        return _RANK.get(labels(alert).get("severity", "").lower(), 4), str(
            alert.get("startsAt", "")
        )

    return sorted(alerts, key=key)


def first_group(alerts: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The first alert (of ``ordered``) and every alert with the same ``runbook`` label:
    what one run silences and routes."""
    if not alerts:
        return []
    book = labels(alerts[0]).get("runbook", "")
    return [a for a in alerts if labels(a).get("runbook", "") == book]


def matching(alerts: Sequence[Mapping[str, Any]], match: Sequence[str]) -> list[Mapping[str, Any]]:
    """The alerts whose labels carry every ``name=value`` of ``match``."""
    wanted = []
    for item in (part.strip() for text in match for part in text.split(",") if part.strip()):
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"matcher {item!r} is not NAME=VALUE, e.g. service=checkout")
        wanted.append((name, value))
    return [a for a in alerts if all(labels(a).get(n) == v for n, v in wanted)]


def save(path: Path, alerts: Sequence[Mapping[str, Any]]) -> None:
    write_atomic(path, (json.dumps(list(alerts), indent=2, sort_keys=True) + "\n").encode())


def load(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read the saved alerts {path}: {exc}; run the read step first"
        ) from None
    if not isinstance(data, list):
        raise UsageError(f"{path} is not a list of alerts")
    return data


def matchers(alert: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Equality matchers on every label of ``alert``: the silence covers it alone."""
    return [
        {"name": name, "value": value, "isRegex": False, "isEqual": True}
        for name, value in sorted(labels(alert).items())
    ]


def operator() -> str:
    """Who runs this: OPSBOOKS_OPERATOR, OPSBOOKS_USER, the git user, else the OS user
    (the order opsbooks itself uses to name a run's operator)."""
    for name in ("OPSBOOKS_OPERATOR", "OPSBOOKS_USER"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        found = subprocess.run(
            ["git", "config", "user.name"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            stdin=subprocess.DEVNULL,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    return found or getpass.getuser()


def severity(alert_labels: Mapping[str, str], impact: str, classify: Any) -> str:
    """SEV1..SEV4: an explicit SEV label as it is; else the policy's matrix of the
    alert's ``impact`` label (or ``impact``) and the urgency its severity stands for."""
    label = alert_labels.get("severity", "")
    if label.upper() in ("SEV1", "SEV2", "SEV3", "SEV4"):
        return label.upper()
    urgency = URGENCY.get(label.lower())
    if urgency is None:
        raise ActionError(
            f"alert {alert_labels.get('alertname', '?')} has severity label {label!r}; "
            f"give it one of {', '.join(sorted(URGENCY))} or SEV1..SEV4 in its rule's labels"
        )
    result: str = classify(alert_labels.get("impact", impact), urgency)
    return result
