"""Shared data makers for the maintenance tests (on sys.path under pytest)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from opsbooks.testing.postgres import PostgresServer

#: A password that must never reach argv, output or the journal (the test server trusts).
PASSWORD = "Pw-never-shown-7731"


def pg_url(pg: PostgresServer, db: str) -> str:
    """The database's URL with a password in it, as an operator might pass it."""
    return f"postgresql://{pg.user}:{PASSWORD}@{pg.host}:{pg.port}/{db}"


def make_shop_pg(pg: PostgresServer, db: str) -> None:
    """``orders`` (50 rows) and ``customers`` (10 rows) in a fresh database ``db``."""
    pg.dropdb(db)
    pg.createdb(db)
    pg.psql(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);"
        "CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, item text NOT NULL, "
        "qty int NOT NULL);"
        "INSERT INTO customers SELECT g, 'customer-' || g FROM generate_series(1, 10) g;"
        "INSERT INTO orders SELECT g, 1 + g % 10, 'item-' || g, g FROM generate_series(1, 50) g;",
        db,
    )


def pg_rows(pg: PostgresServer, db: str, table: str) -> list[str]:
    out = pg.psql(f"SELECT * FROM {table} ORDER BY id", db)
    return [line for line in out.splitlines() if line]


def make_shop_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER NOT NULL, "
            "item TEXT NOT NULL, qty INTEGER NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO customers VALUES (?, ?)", [(i, f"c-{i}") for i in range(1, 11)]
        )
        conn.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [(i, 1 + i % 10, f"item-{i}", i) for i in range(1, 51)],
        )
    conn.close()


def sqlite_rows(path: Path, table: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(f"SELECT * FROM {table} ORDER BY id"))
    finally:
        conn.close()


def sqlite_exec(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            for sql in statements:
                conn.execute(sql)
    finally:
        conn.close()
