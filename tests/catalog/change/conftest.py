"""Fixtures of the change, support and vulnerability drills: webhook, contacts, servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsbooks.testing.postgres import PostgresServer, PostgresUnavailable, postgres_server
from opsbooks.testing.webhook import RecordingWebhook, recording_webhook


@pytest.fixture(scope="module")
def hook() -> Iterator[RecordingWebhook]:
    """One recording webhook per module; tests clear it before use."""
    with recording_webhook() as server:
        yield server


@pytest.fixture
def webhook(hook: RecordingWebhook) -> RecordingWebhook:
    hook.bodies.clear()
    hook.statuses.clear()
    return hook


@pytest.fixture(scope="session")
def support_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL server on 127.0.0.1 for the database checks of the tree."""
    try:
        with postgres_server(tmp_path_factory.mktemp("support-pg")) as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
