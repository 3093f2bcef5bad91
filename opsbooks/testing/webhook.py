"""A stand-in for a paging or chat service: a real HTTP server on 127.0.0.1 that records.

A paging service cannot exist on a test machine, so tests point a ``webhook`` notify
channel at this one and read back what it received. It answers every POST with a
status the test chooses (``fail_first`` makes the first N deliveries fail, to prove
a ``Notify`` retries per its policy and a failed delivery loses nothing)::

    with recording_webhook() as hook:
        drill.settings = {"notify": {"page": {"type": "webhook", "url": hook.url}}}
        ...
        assert "SEV1" in hook.messages[0]["text"]
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordingWebhook", "recording_webhook"]


@dataclass
class RecordingWebhook:
    """What the server received, in order; ``url`` is where to deliver."""

    url: str
    bodies: list[bytes] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    status: int = 200
    fail_first: int = 0

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every body that decoded as a JSON object (the webhook channel sends JSON)."""
        decoded: list[dict[str, Any]] = []
        for body in self.bodies:
            try:
                value = json.loads(body)
            except ValueError:
                continue
            if isinstance(value, dict):
                decoded.append(value)
        return decoded

    def texts(self) -> list[str]:
        """The text of every delivered message, for ``assert "..." in hook.texts()[0]``."""
        return [str(m.get("text", m)) for m in self.messages]

    def _answer(self) -> int:
        if len(self.statuses) < self.fail_first:
            return 503
        return self.status


@contextmanager
def recording_webhook(*, status: int = 200, fail_first: int = 0) -> Iterator[RecordingWebhook]:
    """Serve on a free loopback port until the block ends."""
    hook: RecordingWebhook

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            answer = hook._answer()
            hook.statuses.append(answer)
            if answer < 300:
                hook.bodies.append(body)
            self.send_response(answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook = RecordingWebhook(
        f"http://127.0.0.1:{server.server_address[1]}/hook", status=status, fail_first=fail_first
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
