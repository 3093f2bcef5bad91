"""A headless Chromium driven over the DevTools protocol on a pipe (no port, no socket).

`--remote-debugging-pipe` makes Chromium read protocol messages from fd 3 and write
them to fd 4, each a JSON object ended by a NUL byte. That is all the browser test
needs: open a page, wait for what Material renders into a *closed* shadow root (which
`--dump-dom` cannot show, but `DOM.getDocument(pierce=true)` can), take a screenshot,
and see every request the page made.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Every host name resolves to nothing except the loopback address the test serves on:
# a page that reached for a CDN (Material's fallback Mermaid) would fail to load it.
BLOCK_NETWORK = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


class BrowserError(AssertionError):
    pass


def _high_pipe() -> tuple[int, int]:
    ends = []
    for fd in os.pipe():
        ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100))
        os.close(fd)
    return ends[0], ends[1]


class Chromium:
    """One headless Chromium process and one page target in it."""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 1024):
        # the browser's ends are moved above fd 100, so that wiring them to fds 3 and 4
        # below cannot clobber one with the other
        to_browser_r, self._to_browser = _high_pipe()
        self._from_browser, from_browser_w = _high_pipe()
        args = [
            "--headless",
            "--no-sandbox",  # the suite runs as root in CI
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--metrics-recording-only",
            f"--host-resolver-rules={BLOCK_NETWORK}",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # fds 3 and 4 in the browser are our pipe ends, whatever numbers they have here
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}'
        self.process = subprocess.Popen(
            ["bash", "-c", script, binary, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its renderers and zygote go with it on a kill
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""
        try:
            self._open_page(width, height)
        except BaseException:
            self.close()
            raise

    def _open_page(self, width: int, height: int) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        attached = self.call(
            "Target.attachToTarget",
            {"targetId": target["targetId"], "flatten": True},
            session=False,
        )
        self.session = attached["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def _messages(self, deadline: float) -> Iterator[dict[str, Any]]:
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                yield json.loads(raw)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], remaining)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"chromium exited (status {self.process.poll()})")
                self._buffer += chunk

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: bool = True,
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        for reply in self._messages(time.monotonic() + timeout):
            if reply.get("id") != self._next_id:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise BrowserError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply.get("result", {})
            return result
        raise AssertionError("unreachable")

    def wait_for_event(self, method: str, timeout: float = 15.0) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        for event in self._messages(time.monotonic() + timeout):
            self.events.append(event)
            if event.get("method") == method:
                return event
        raise AssertionError("unreachable")

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        # the browser may close the pipe before it answers
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", session=False, timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


def walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node under `node`, shadow roots (open or closed) included."""
    yield node
    for key in ("children", "shadowRoots"):
        for child in node.get(key, []):
            yield from walk(child)
    if "contentDocument" in node:
        yield from walk(node["contentDocument"])
