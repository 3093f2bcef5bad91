"""Session-wide real parts for the troubleshoot.{database,performance,mcp} drills."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.postgres import (
    PostgresServer,
    PostgresUnavailable,
    postgres_server,
)

sys.path.insert(0, str(Path(__file__).parent))

from ts_sys_kit import MAX_CONNECTIONS


@pytest.fixture(scope="session")
def ts_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL on 127.0.0.1 with max_connections = 20, for the database tree."""
    try:
        with postgres_server(
            tmp_path_factory.mktemp("ts-pg"),
            settings={"max_connections": str(MAX_CONNECTIONS)},
        ) as server:
            server.psql("CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY, total numeric)")
            server.psql("INSERT INTO orders SELECT g, g * 1.5 FROM generate_series(1, 100) g")
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


#: the escalation contacts the trees' escalation leaves name (as in [tool.opsbooks.contacts])
CONTACTS = {
    "L1": "Operations on-call: #ops-oncall",
    "L2": "Platform engineering on-call: #platform",
    "L3": "Owning team's engineering lead",
}


@pytest.fixture
def drill(tmp_path: Path, fake_clock: FakeClock) -> Drill:
    """The catalog's drill, with escalation contacts configured."""
    root = tmp_path / "drill"
    root.mkdir()
    return Drill(root=root, clock=fake_clock, settings={"contacts": CONTACTS})
