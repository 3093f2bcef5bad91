"""Deliver a ``Notify`` step's message to a configured channel: file, stdout or webhook."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Channel(BaseModel):
    """Where a ``Notify`` step delivers: a file, standard output or an HTTP webhook."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["file", "stdout", "webhook"] = "stdout"
    path: str = ""
    url: str = ""
    timeout: float = 10.0


class DeliveryFailed(Exception):
    """The channel did not take the message; the step fails (and may retry)."""


class ChannelNotifier:
    """The real ``Notifier``: the project's configured channels, by name."""

    def __init__(
        self,
        channels: Mapping[str, Channel],
        *,
        resolve: Callable[[str], Path],
        say: Callable[[str], None],
    ) -> None:
        self._channels = dict(channels)
        self._resolve = resolve
        self._say = say

    def send(self, channel: str, message: str, meta: Mapping[str, str]) -> str:
        found = self._channels.get(channel)
        if found is None:
            known = ", ".join(sorted(self._channels)) or "(none)"
            raise DeliveryFailed(f"notify channel {channel!r} is not configured; known: {known}")
        return deliver(found, message, meta=meta, resolve=self._resolve, say=self._say)


def deliver(
    channel: Channel,
    message: str,
    *,
    meta: Mapping[str, str],
    resolve: Callable[[str], Path],
    say: Callable[[str], None],
) -> str:
    """Send ``message``; return a one-line description of where it went."""
    if channel.type == "stdout":
        say(f"[notify] {message}")
        return "stdout"
    if channel.type == "file":
        if not channel.path:
            raise DeliveryFailed("file channel has no `path`; set it in the notify configuration")
        path = resolve(channel.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"{stamp} [{meta.get('runbook', '')}] {message}\n")
        return f"file {path}"
    return _post(channel, message, meta)


def _post(channel: Channel, message: str, meta: Mapping[str, str]) -> str:
    import urllib.error  # lazy: urllib.request loads http, email and ssl; only webhooks post
    import urllib.request

    if not channel.url:
        raise DeliveryFailed("webhook channel has no `url`; set it in the notify configuration")
    body = json.dumps({"text": message, **meta}).encode()
    request = urllib.request.Request(
        channel.url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=channel.timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"webhook {channel.url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"webhook {channel.url} unreachable: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"webhook {channel.url} answered HTTP {status}")
    return f"webhook {channel.url} (HTTP {status})"
