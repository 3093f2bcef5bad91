"""Real parts for the maintenance and recovery runbooks: one PostgreSQL server per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from opsbooks.testing.postgres import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def maint_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL server on 127.0.0.1 for every maintenance test of the session."""
    with postgres_server(tmp_path_factory.mktemp("maint-pg")) as server:
        yield server
