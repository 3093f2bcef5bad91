"""Shared real servers for the incident drills: one HTTP service and one recording
webhook per module (each test sets the service's state and reads only its own pages)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from incident_kit import Service, http_service

from opsbooks.testing.webhook import RecordingWebhook, recording_webhook


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with http_service(tmp_path_factory.mktemp("service")) as running:
        yield running


@pytest.fixture
def healthy(service: Service) -> Service:
    service.set("ok")
    return service


@pytest.fixture(scope="module")
def _hook() -> Iterator[RecordingWebhook]:
    with recording_webhook() as hook:
        yield hook


@pytest.fixture
def hook(_hook: RecordingWebhook) -> RecordingWebhook:
    """The module's webhook, emptied for this test."""
    _hook.bodies.clear()
    _hook.statuses.clear()
    _hook.fail_first = 0
    _hook.status = 200
    return _hook
