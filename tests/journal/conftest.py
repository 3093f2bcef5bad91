"""One throwaway PostgreSQL server for the journal tests that need one (the slow tier)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from opsbooks.testing.postgres import PostgresServer, postgres_server

_databases = itertools.count()


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture
def pg_url(pg: PostgresServer) -> str:
    """A fresh, empty database on the server."""
    return pg.createdb(f"j{next(_databases)}")
