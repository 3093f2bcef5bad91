"""PostgreSQL backup actions against a real server started on loopback for this module."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbooks.testing.postgres import PostgresServer, free_port, postgres_server
from opsbooks_playbooks.actions import db
from opsbooks_playbooks.actions.db.manifest import manifest_path, read_manifest

pytestmark = pytest.mark.slow
SECRET = "Sup3r-S3cret"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbooks_playbooks.actions.db", *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture
def app(pg: PostgresServer, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    name = "app_" + request.node.name.replace("test_", "")[:40]
    pg.dropdb(name)
    url = pg.createdb(name)
    pg.psql(
        "CREATE TABLE orders (id serial PRIMARY KEY, item text, at timestamptz DEFAULT now());"
        "CREATE SCHEMA billing; CREATE TABLE billing.invoices (n int);"
        "INSERT INTO orders (item) SELECT 'item-' || g FROM generate_series(1, 50) g;"
        "INSERT INTO billing.invoices VALUES (1), (2), (3);",
        db=name,
    )
    yield name, url
    pg.dropdb(name)
    pg.dropdb(f"{name}_pre_restore")


def rows(pg: PostgresServer, name: str) -> str:
    return pg.psql("SELECT id, item, at FROM orders ORDER BY id", db=name)


def test_backup_verify_tamper_drop_restore(
    pg: PostgresServer, app: tuple[str, str], tmp_path: Path
) -> None:
    name, url = app
    dest = tmp_path / "bk"
    before = rows(pg, name)
    made = cli("backup", "--db", url, "--dest", str(dest), "--json")
    assert made.returncode == 0, made.stderr
    backup = Path(json.loads(made.stdout)["backup"])
    manifest = read_manifest(backup)
    assert manifest.engine == "postgresql" and backup.suffix == ".pgdump"
    assert manifest.tables == {"public.orders": 50, "billing.invoices": 3}
    assert manifest.sha256 == hashlib.sha256(backup.read_bytes()).hexdigest()
    assert manifest.tool.startswith("pg_dump")

    ok = cli("verify", "--backup", str(dest))
    assert ok.returncode == 0, ok.stderr
    leftovers = pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'opsbooks_verify%'")
    assert leftovers == "0"

    pristine = backup.read_bytes()
    backup.write_bytes(pristine[:-10])
    bad = cli("verify", "--backup", str(backup))
    assert bad.returncode == 1 and "truncated" in bad.stderr and backup.name in bad.stderr
    backup.write_bytes(pristine)
    assert cli("verify", "--backup", str(backup)).returncode == 0

    pg.dropdb(name)
    gone = cli("check", "--db", url)
    assert gone.returncode == 1 and "does not exist" in gone.stderr
    restored = cli("restore", "--backup", str(dest), "--verified-only", "--db", url)
    assert restored.returncode == 0, restored.stderr
    assert rows(pg, name) == before
    assert pg.psql("SELECT sum(n) FROM billing.invoices", db=name) == "6"
    assert cli("compare", "--db", url, "--backup", str(backup)).returncode == 0


def test_restore_over_existing_keeps_previous(
    pg: PostgresServer, app: tuple[str, str], tmp_path: Path
) -> None:
    name, url = app
    backup = db.backup(url, tmp_path / "bk")[0]
    pg.psql("INSERT INTO orders (item) VALUES ('after the backup')", db=name)
    refused = cli("restore", "--backup", str(backup), "--db", url)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert cli("restore", "--backup", str(backup), "--db", url, "--force").returncode == 0
    assert pg.psql("SELECT count(*) FROM orders", db=name) == "50"
    assert pg.psql("SELECT count(*) FROM orders", db=f"{name}_pre_restore") == "51"
    assert cli("compare", "--db", url, "--backup", str(backup)).returncode == 0
    assert cli("undo-restore", "--db", url).returncode == 0
    assert pg.psql("SELECT count(*) FROM orders", db=name) == "51"
    compare = cli("compare", "--db", url, "--backup", str(backup))
    assert compare.returncode == 1 and "public.orders: 51 rows, manifest says 50" in compare.stderr


def test_undo_of_a_restore_onto_a_new_database_drops_it(
    pg: PostgresServer, app: tuple[str, str], tmp_path: Path
) -> None:
    _name, url = app
    backup = db.backup(url, tmp_path / "bk")[0]
    pg.dropdb("standby_new")
    standby = url.rsplit("/", 1)[0] + "/standby_new"
    try:
        assert cli("restore", "--backup", str(backup), "--db", standby).returncode == 0
        assert pg.psql("SELECT count(*) FROM orders", db="standby_new") == "50"
        undone = cli("undo-restore", "--db", standby)
        assert undone.returncode == 0 and "the restore created it" in undone.stdout
        gone = pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'standby_new'")
        assert gone == "0"
        again = cli("undo-restore", "--db", standby)
        assert again.returncode == 0 and "replaced nothing" in again.stdout
    finally:
        pg.dropdb("standby_new")


def test_counts_come_from_the_dump_snapshot_under_writes(
    pg: PostgresServer, app: tuple[str, str], tmp_path: Path
) -> None:
    name, url = app
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            pg.psql("INSERT INTO orders (item) VALUES ('concurrent')", db=name)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backups = [db.backup(url, tmp_path / "bk")[0] for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    for backup in backups:
        db.verify(backup)


def test_password_never_shown(pg: PostgresServer, app: tuple[str, str], tmp_path: Path) -> None:
    name, _ = app
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:{pg.port}/{name}"
    made = cli("backup", "--db", url, "--dest", str(tmp_path / "bk"), "--json")
    assert made.returncode == 0, made.stderr
    backup = Path(json.loads(made.stdout)["backup"])
    text = manifest_path(backup).read_text()
    assert SECRET not in text and SECRET not in made.stdout
    assert read_manifest(backup).source == f"postgresql://postgres:*****@127.0.0.1:{pg.port}/{name}"
    assert cli("verify", "--backup", str(backup)).returncode == 0
    down = f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/{name}"
    for args in (
        ("check", "--db", down),
        ("backup", "--db", down, "--dest", str(tmp_path / "bk2")),
        ("restore", "--backup", str(backup), "--db", down, "--force"),
        ("counts", "--db", f"postgresql://postgres:{SECRET}@127.0.0.1:{pg.port}/nope"),
    ):
        failed = cli(*args)
        assert failed.returncode == 1, args
        assert SECRET not in failed.stderr and "*****" in failed.stderr, failed.stderr


def test_check_down_server_is_clear(pg: PostgresServer) -> None:
    result = cli("check", "--db", f"postgresql://postgres@127.0.0.1:{free_port()}/app")
    assert result.returncode == 1 and "not responding" in result.stderr


def test_generations_pruned(pg: PostgresServer, app: tuple[str, str], tmp_path: Path) -> None:
    _, url = app
    dest = tmp_path / "bk"
    made = [db.backup(url, dest, keep=1)[0] for _ in range(2)]
    assert not made[0].exists() and made[1].exists()
    assert db.latest(dest)[0] == made[1]


def test_verify_on_another_server(pg: PostgresServer, app: tuple[str, str], tmp_path: Path) -> None:
    _, url = app
    backup = db.backup(url, tmp_path / "bk")[0]
    with postgres_server(tmp_path / "other") as other:
        path, manifest = db.verify(
            backup, servers=["", f"postgresql://postgres@127.0.0.1:{other.port}"]
        )
    assert manifest.verified and path == backup


def test_file_size_limit_leaves_no_backup(
    pg: PostgresServer, app: tuple[str, str], tmp_path: Path
) -> None:
    """A full disk, for real: the kernel refuses pg_dump's writes past ``ulimit -f``."""
    name, url = app
    pg.psql(
        "CREATE TABLE noise AS SELECT md5(random()::text) || md5(random()::text) AS n "
        "FROM generate_series(1, 20000)",
        db=name,
    )
    dest = tmp_path / "bk"
    command = (
        f'trap "" XFSZ; ulimit -f 200; exec {sys.executable} -m opsbooks_playbooks.actions.db '
        f"backup --db {url} --dest {dest}"
    )
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "pg_dump" in result.stderr, result.stderr
    assert list(dest.iterdir()) == []
