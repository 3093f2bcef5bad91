"""The public PostgreSQL test kit: a real server that starts, serves and cleans up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from opsbooks.testing.postgres import PostgresServer, client_tool, find_bin_dir, postgres_server

pytestmark = pytest.mark.slow


def ready(port: int) -> bool:
    probe = [client_tool("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
    return subprocess.run(probe, check=False).returncode == 0


def test_session_server_serves_databases(pg: PostgresServer) -> None:
    url = pg.createdb("kit_probe")
    try:
        assert url == f"postgresql://postgres@127.0.0.1:{pg.port}/kit_probe"
        pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (41), (1)", db="kit_probe")
        assert pg.psql("SELECT sum(x) FROM t", db="kit_probe") == "42"
        assert (pg.bin_dir / "pg_ctl").exists() and pg.socket_dir.is_dir()
    finally:
        pg.dropdb("kit_probe")
    assert pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'kit_probe'") == "0"


def test_server_stops_and_cleans_up(tmp_path: Path) -> None:
    with postgres_server(tmp_path) as server:
        port, data_dir = server.port, server.data_dir
        assert ready(port)
        with pytest.raises(RuntimeError, match="psql failed"):
            server.psql("SELECT nope")
    assert not ready(port)
    assert not (data_dir / "postmaster.pid").exists()


def test_server_binaries_are_found() -> None:
    assert (find_bin_dir() / "initdb").exists()
