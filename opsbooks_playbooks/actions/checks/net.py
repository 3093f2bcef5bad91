"""Network checks: name resolution, a TCP connect, an HTTP health request and its latency."""

from __future__ import annotations

import errno
import http.client
import socket
import ssl
import time
from dataclasses import dataclass

from opsbooks.actions import Result

#: how much of a health response body is read and shown
_BODY_LIMIT = 4096


def resolve(host: str) -> Result:
    """Resolve ``host`` as the system resolver does (``getent ahosts``: NSS, /etc/hosts, DNS).

    Publishes ``dns`` (ok, fail), ``address`` and ``dns_error``, each every time (empty
    when it does not apply), so a step may declare them all.
    """
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        reason = exc.strerror or str(exc)
        return Result(
            f"{host} does not resolve: {reason} (getaddrinfo error {exc.errno})",
            outputs={"dns": "fail", "address": "", "dns_error": reason},
        )
    addresses = sorted({str(info[4][0]) for info in infos})
    return Result(
        f"{host} resolves to {', '.join(addresses)}",
        outputs={"dns": "ok", "address": addresses[0], "dns_error": ""},
    )


def tcp_connect(host: str, port: int, timeout: float) -> Result:
    """Open one TCP connection to ``host:port``: ok, refused, timeout (filtered) or error.

    Publishes ``tcp``, ``connect_ms`` and ``tcp_error`` every time (empty when n/a).
    """
    start = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout):
            elapsed = (time.monotonic() - start) * 1000
    except TimeoutError:
        return Result(
            f"{host}:{port} did not answer within {timeout:g}s: the SYN was dropped "
            "(a firewall filters it, or the listener's accept queue is full)",
            outputs={"tcp": "timeout", "connect_ms": "", "tcp_error": "ETIMEDOUT"},
        )
    except ConnectionRefusedError:
        return Result(
            f"{host}:{port} refused the connection: the host is up but nothing listens there",
            outputs={"tcp": "refused", "connect_ms": "", "tcp_error": "ECONNREFUSED"},
        )
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, "unknown")
        return Result(
            f"connecting to {host}:{port} failed: {exc.strerror or exc} ({name})",
            outputs={"tcp": "error", "connect_ms": "", "tcp_error": name},
        )
    return Result(
        f"{host}:{port} accepted a TCP connection in {elapsed:.1f} ms",
        outputs={"tcp": "ok", "connect_ms": f"{elapsed:.1f}", "tcp_error": ""},
    )


@dataclass(frozen=True)
class HealthTarget:
    """Where the health endpoint is and what a healthy answer looks like."""

    host: str
    port: int
    path: str = "/healthz"
    tls: bool = True
    ca_file: str = ""
    expect_body: str = ""
    timeout: float = 5.0


def _connection(target: HealthTarget) -> http.client.HTTPConnection:
    if not target.tls:
        return http.client.HTTPConnection(target.host, target.port, timeout=target.timeout)
    context = ssl.create_default_context(cafile=target.ca_file or None)
    return http.client.HTTPSConnection(
        target.host, target.port, timeout=target.timeout, context=context
    )


def health(target: HealthTarget) -> Result:
    """GET the health endpoint once: its status, whether the body holds what is expected,
    and the whole request's latency in milliseconds."""
    scheme = "https" if target.tls else "http"
    url = f"{scheme}://{target.host}:{target.port}{target.path}"
    conn = _connection(target)
    start = time.monotonic()
    try:
        conn.request("GET", target.path, headers={"User-Agent": "opsbooks-check"})
        response = conn.getresponse()
        body = response.read(_BODY_LIMIT).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return Result(
            f"GET {url} got no HTTP answer: {type(exc).__name__}: {exc}",
            outputs={"health": "error", "status": "0", "latency_ms": "0"},
        )
    finally:
        conn.close()
    latency = (time.monotonic() - start) * 1000
    status_ok = 200 <= response.status < 400
    body_ok = not target.expect_body or target.expect_body in body
    verdict = "ok" if status_ok and body_ok else "failing"
    why = "" if body_ok else f"; the body lacks {target.expect_body!r}"
    first = body.strip().splitlines()[0][:120] if body.strip() else "(empty body)"
    return Result(
        f"GET {url} answered {response.status} {response.reason} in {latency:.0f} ms{why}: {first}",
        outputs={"health": verdict, "status": str(response.status), "latency_ms": f"{latency:.0f}"},
    )
