"""Prometheus and Alertmanager HTTP APIs, with errors an operator can act on, and the
arithmetic the monitoring runbooks share (least-squares growth, durations, times).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opsbooks_playbooks.actions import ActionError, UsageError

_TIMEOUT = 10.0
_DURATION = re.compile(r"^(\d+)(s|m|h|d|w)$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def base_url(url: str, what: str) -> str:
    """``url`` without a trailing slash, refused unless it is ``http(s)://host[:port]``."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise UsageError(
            f"{what} URL {url!r} is not http(s)://host:port; give e.g. http://127.0.0.1:9090"
        )
    return url.rstrip("/")


def _call(url: str, what: str, data: bytes | None = None, method: str = "GET") -> Any:
    root = url.split("/api/")[0]
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace").strip()
        raise ActionError(f"{what} answered HTTP {exc.code} at {root}: {body[:300]}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ActionError(
            f"cannot reach {what} at {root}: {reason}; check that it runs and that the URL "
            f"and port are right (curl -fsS {root}/-/ready)"
        ) from None
    except ValueError:
        raise ActionError(f"{what} at {url} did not answer JSON; is that the right port?") from None


@dataclass(frozen=True)
class Prometheus:
    """The query API of one Prometheus server."""

    url: str

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """``/api/v1/query``: the instant vector of ``expr`` (now, or at epoch ``at``)."""
        args = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        return self._data("query", args, expr)

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        """``/api/v1/query_range``: one ``values`` list of (time, text) per series."""
        args = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:.0f}"}
        return self._data("query_range", args, expr)

    def scalar(self, expr: str, at: float | None = None) -> float | None:
        """The single value of ``expr``, or None when it returns no series."""
        found = self.query(expr, at)
        if not found:
            return None
        if len(found) > 1:
            raise ActionError(f"`{expr}` returned {len(found)} series; aggregate it (sum(...))")
        return float(found[0]["value"][1])

    def _data(self, endpoint: str, args: Mapping[str, str], expr: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/{endpoint}?{urllib.parse.urlencode(args)}"
        answer = _call(url, "Prometheus")
        if not isinstance(answer, dict) or answer.get("status") != "success":
            error = answer.get("error", answer) if isinstance(answer, dict) else answer
            raise ActionError(f"Prometheus refused `{expr}`: {error}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result


@dataclass(frozen=True)
class Alertmanager:
    """The v2 API of one Alertmanager."""

    url: str

    def firing(self) -> list[dict[str, Any]]:
        """Active alerts that are neither silenced nor inhibited."""
        query = "active=true&silenced=false&inhibited=false&unprocessed=false"
        found = _call(f"{self.url}/api/v2/alerts?{query}", "Alertmanager")
        if not isinstance(found, list):
            raise ActionError(f"Alertmanager at {self.url} did not answer a list of alerts")
        return [a for a in found if a.get("status", {}).get("state", "active") == "active"]

    def silence(
        self,
        matchers: Sequence[Mapping[str, Any]],
        *,
        starts: float,
        ends: float,
        author: str,
        comment: str,
    ) -> str:
        """Create a silence; return its id."""
        body = {
            "matchers": list(matchers),
            "startsAt": iso(starts),
            "endsAt": iso(ends),
            "createdBy": author,
            "comment": comment,
        }
        answer = _call(
            f"{self.url}/api/v2/silences", "Alertmanager", json.dumps(body).encode(), "POST"
        )
        if not isinstance(answer, dict) or "silenceID" not in answer:
            raise ActionError(f"Alertmanager did not return a silence id: {answer}")
        return str(answer["silenceID"])

    def expire(self, silence_id: str) -> str:
        """Expire silence ``silence_id``; return it."""
        if not re.fullmatch(r"[0-9a-fA-F-]{8,64}", silence_id.strip()):
            raise UsageError(f"{silence_id!r} is not a silence id (a UUID)")
        _call(f"{self.url}/api/v2/silence/{silence_id.strip()}", "Alertmanager", method="DELETE")
        return silence_id.strip()


def duration(text: str) -> float:
    """``90s``, ``15m``, ``24h``, ``7d``, ``4w`` in seconds, or a usage error."""
    match = _DURATION.match(text.strip())
    if not match:
        raise UsageError(f"duration {text!r} is not like 30s, 15m, 24h, 7d or 4w")
    return int(match.group(1)) * _UNIT[match.group(2)]


def iso(epoch: float) -> str:
    """Epoch seconds as ``2026-12-02T09:00:00Z``."""
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def when(text: str, now: float) -> float:
    """An RFC 3339 time (or empty: ``now``) as epoch seconds."""
    if not text:
        return now
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"time {text!r} is not RFC 3339 like 2026-12-02T09:00:00Z") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def linear_fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(slope per second, intercept)`` of (time, value) points, as
    Prometheus' ``predict_linear`` fits them."""
    if len(points) < 2:
        raise ActionError("fewer than two samples: not enough history to project a trend")
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        raise ActionError("all samples share one timestamp: not enough history")
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / var
    return slope, mean_v - slope * mean_t


def crossing(slope: float, intercept: float, level: float, now: float) -> float | None:
    """When the fitted line reaches ``level`` (epoch seconds), or None if it never does
    going forward (flat or falling)."""
    if slope <= 0:
        return None
    at = (level - intercept) / slope
    return max(at, now)
