"""Real parts for the incident runbooks' drills: an HTTP service on 127.0.0.1 whose health
the test sets (healthy, failing, slow), an access log, and the drill settings that point
the paging channel at a recording webhook.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTACTS = {"L1": "ops on-call, +1 555 0101", "L2": "platform, +1 555 0102", "L3": "eng lead"}


@dataclass
class Service:
    """A loopback HTTP service; ``state_file`` holds ``ok``, ``fail`` or ``slow SECONDS``.

    The file is read on every request, so a restart command that writes it (``echo ok >
    FILE``) really changes what the next health check sees.
    """

    url: str
    state_file: Path

    def set(self, state: str) -> None:
        self.state_file.write_text(state + "\n", encoding="utf-8")

    @property
    def health_url(self) -> str:
        return self.url + "/healthz"


@contextmanager
def http_service(folder: Path) -> Iterator[Service]:
    state_file = folder / "service-state"
    state_file.write_text("ok\n", encoding="utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            words = state_file.read_text(encoding="utf-8").split() or ["ok"]
            if words[0] == "slow":
                time.sleep(float(words[1]))
            status = 500 if words[0] == "fail" else 200
            body = b"ok\n" if status == 200 else b"internal error\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Service(f"http://127.0.0.1:{server.server_address[1]}", state_file)
    finally:
        server.shutdown()
        server.server_close()


def access_log(path: Path, ok: int, errors: int) -> Path:
    """A combined-format access log with ``ok`` 200s and ``errors`` 500s."""
    line = '127.0.0.1 - - [02/Dec/2026:09:00:00 +0000] "GET /api HTTP/1.1" {} 12 "-" "curl"\n'
    path.write_text(line.format(200) * ok + line.format(500) * errors, encoding="utf-8")
    return path


def settings(hook_url: str, **extra: Any) -> dict[str, Any]:
    """Drill settings: the `page` channel is the recording webhook, contacts for L1-L3."""
    return {
        "notify": {
            "default": {"type": "stdout"},
            "page": {"type": "webhook", "url": hook_url, "timeout": 5.0},
        },
        "contacts": dict(CONTACTS),
        **extra,
    }


def incident(service: Service, **extra: Any) -> dict[str, Any]:
    """The params of an incident on ``service``."""
    return {
        "incident_id": "INC-2026-042",
        "service": "api",
        "summary": "checkout requests fail with 500",
        "health_url": service.health_url,
        **extra,
    }
