"""Measure an HTTP endpoint's latency: N sequential GETs, p50/p90/p99, error share.

Each request opens a new connection, as a client arriving cold would, and is timed
from connect to the last byte of the body. A request that fails to connect, times
out or answers 5xx counts as an error; its time is left out of the percentiles.
"""

from __future__ import annotations

import http.client
import math
import ssl
import time
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlsplit

from opsbooks.actions import Arg, Result
from opsbooks_playbooks.actions import UsageError, program


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile of ``values`` (``pct`` in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100.0 * len(ordered)))
    return ordered[rank - 1]


def one_request(url: str, timeout: float) -> tuple[float, int | str]:
    """GET ``url`` once: (seconds taken, HTTP status or the error's name)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"{url!r} is not an http(s) URL; give one like http://127.0.0.1:8080/health"
        )
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    try:
        conn.request("GET", path, headers={"User-Agent": "opsbooks-latency/1"})
        response = conn.getresponse()
        response.read()
        return time.perf_counter() - started, response.status
    except ConnectionRefusedError:
        return time.perf_counter() - started, "refused"
    except TimeoutError:
        return time.perf_counter() - started, "timeout"
    except (OSError, http.client.HTTPException) as exc:
        return time.perf_counter() - started, type(exc).__name__
    finally:
        conn.close()


def measure(
    url: Annotated[str, Arg(help="the endpoint to GET, e.g. http://127.0.0.1:8080/health")],
    requests: Annotated[int, Arg(help="how many requests to time")] = 50,
    timeout: Annotated[float, Arg(help="seconds one request may take")] = 5.0,
) -> Result:
    """Time ``requests`` GETs of ``url``; publish p50/p90/p99 (ms), error share, reachability."""
    if requests < 1:
        raise UsageError("--requests must be at least 1")
    times: list[float] = []
    errors: dict[str, int] = {}
    for _ in range(requests):
        took, status = one_request(url, timeout)
        if isinstance(status, int) and status < 500:
            times.append(took * 1000.0)
        else:
            errors[str(status)] = errors.get(str(status), 0) + 1
    failed = sum(errors.values())
    refused = errors.get("refused", 0) == requests
    p50, p90, p99 = (round(percentile(times, p), 1) for p in (50, 90, 99))
    error_pct = round(100.0 * failed / requests, 1)
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none"
    text = (
        f"GET {url} x{requests}: p50 {p50} ms, p90 {p90} ms, p99 {p99} ms; "
        f"errors {failed} ({error_pct}%): {summary}"
    )
    return Result(
        text,
        {
            "reachable": "no" if refused else "yes",
            "p50_ms": p50,
            "p90_ms": p90,
            "p99_ms": p99,
            "error_pct": error_pct,
            "errors": summary,
        },
    )


PROGRAM = program("diagnose.latency", __doc__)
PROGRAM.command(measure)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.diagnose.latency``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
