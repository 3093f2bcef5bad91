"""Real parts for the backup and DR playbook tests: a PostgreSQL server and a step runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_kit import Ran, RunSteps, run_plan

import opsbooks as ob
from opsbooks.testing.postgres import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """One real PostgreSQL server on loopback for the whole session."""
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture
def run_steps(tmp_path: Path) -> RunSteps:
    """Run a plan's commands in order through ``sh -c`` from a scratch working dir."""

    def run(plan: ob.Plan) -> list[Ran]:
        return run_plan(plan, tmp_path / "workdir")

    return run
