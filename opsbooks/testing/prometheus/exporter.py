"""The loopback exporter of the Prometheus test kit: metrics whose values a test sets,
and OpenMetrics text of past samples for backfilling history."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["Exporter", "metrics_exporter", "openmetrics"]


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class Exporter:
    """A loopback HTTP server serving text-format metrics whose values a test sets."""

    host: str = "127.0.0.1"
    port: int = 0
    _values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def target(self) -> str:
        """``host:port``, as a Prometheus static target."""
        return f"{self.host}:{self.port}"

    def set(self, name: str, value: float, **labels: str) -> None:
        """Serve ``name{labels} value`` from now on (replacing an earlier value)."""
        with self._lock:
            self._values[(name, tuple(sorted(labels.items())))] = float(value)

    def remove(self, name: str, **labels: str) -> None:
        """Stop serving the series (as if the process no longer exported it)."""
        with self._lock:
            self._values.pop((name, tuple(sorted(labels.items()))), None)

    def text(self) -> str:
        """The exposition text served at ``/metrics``."""
        with self._lock:
            items = sorted(self._values.items())
        return "".join(f"{name}{_labels(dict(lbl))} {value!r}\n" for (name, lbl), value in items)


@contextlib.contextmanager
def metrics_exporter() -> Iterator[Exporter]:
    """Serve an ``Exporter`` on a free loopback port until the block ends."""
    exporter = Exporter()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = exporter.text().encode()
            self.send_response(200 if self.path.startswith("/metrics") else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a scrape cut off
                self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    exporter.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield exporter
    finally:
        server.shutdown()
        server.server_close()


def openmetrics(samples: Iterable[tuple[str, Mapping[str, str], float, float]]) -> str:
    """OpenMetrics text of ``(name, labels, value, epoch seconds)`` samples, for backfill.

    Samples of one series must come in time order; series are grouped by name.
    """
    by_name: dict[str, list[str]] = {}
    for name, labels, value, at in samples:
        by_name.setdefault(name, []).append(f"{name}{_labels(labels)} {value!r} {at:.3f}")
    lines = [line for name, rows in by_name.items() for line in [f"# TYPE {name} gauge", *rows]]
    return "\n".join([*lines, "# EOF"]) + "\n"
