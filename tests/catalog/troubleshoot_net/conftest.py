"""Session-wide real parts for the troubleshooting trees: certificates, servers, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tsnet_kit import (
    APP_PASSWORD,
    CONTACTS,
    DAY,
    HBA,
    LOOPBACK,
    Authority,
    Certs,
    Pem,
    Servers,
    http_server,
    self_signed,
    write_pem,
)

from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.postgres import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A CA and the server and client certificates signed by it (or not)."""
    folder = tmp_path_factory.mktemp("certs")
    ca, other = Authority.create("Test Root CA"), Authority.create("Other Root CA")
    for authority, stem in ((ca, "ca"), (other, "other-ca")):
        write_pem(folder, stem, authority.cert, authority.key)

    def server(stem: str, **kw: object) -> Pem:
        cert, key = ca.issue("localhost", **kw)  # type: ignore[arg-type]
        return write_pem(folder, stem, cert, key)

    def client(stem: str, authority: Authority, **kw: object) -> Pem:
        cert, key = authority.issue("svc-billing", client=True, **kw)  # type: ignore[arg-type]
        return write_pem(folder, stem, cert, key)

    return Certs(
        ca=folder / "ca.crt",
        other_ca=folder / "other-ca.crt",
        valid=server("valid", names=LOOPBACK),
        expiring=server("expiring", names=LOOPBACK, end=5 * DAY),
        expired=server("expired", names=LOOPBACK, start=-60 * DAY, end=-2 * DAY),
        not_yet_valid=server("future", names=LOOPBACK, start=5 * DAY, end=60 * DAY),
        wrong_host=server("wrong-host", names=("api.example.net",)),
        untrusted=self_signed(folder, "localhost", LOOPBACK),
        client=client("client", ca),
        client_expired=client("client-expired", ca, start=-90 * DAY, end=-1 * DAY),
        client_other_ca=client("client-other", other),
    )


@pytest.fixture(scope="session")
def servers(certs: Certs) -> Iterator[Servers]:
    """Real HTTPS servers on 127.0.0.1, one per server certificate, and a plain HTTP one."""
    with (
        http_server(certs.valid) as valid,
        http_server(certs.expiring) as expiring,
        http_server(certs.expired) as expired,
        http_server(certs.not_yet_valid) as future,
        http_server(certs.wrong_host) as wrong,
        http_server(certs.untrusted) as untrusted,
        http_server() as plain,
    ):
        yield Servers(valid, expiring, expired, future, wrong, untrusted, plain)


@pytest.fixture(scope="session")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL on loopback with password roles and a restrictive pg_hba.conf."""
    with postgres_server(tmp_path_factory.mktemp("auth-pg")) as server:
        server.psql(
            "set password_encryption = 'scram-sha-256'; "
            f"create role app login password '{APP_PASSWORD}'"
        )
        server.psql("create role blocked login password 'blocked-Pw'")
        server.createdb("appdb")
        (server.data_dir / "pg_hba.conf").write_text(HBA)
        server.psql("select pg_reload_conf()")
        yield server


@pytest.fixture
def tree(tmp_path: Path, fake_clock: FakeClock) -> Drill:
    """A drill of the catalog with the support contacts configured."""
    root = tmp_path / "drill"
    root.mkdir()
    return Drill(root=root, clock=fake_clock, settings={"contacts": CONTACTS})
