"""SQLite upkeep: file and page figures, VACUUM, PRAGMA optimize, PRAGMA integrity_check.

The bloat of a SQLite file is its free pages (``freelist_count * page_size``), which
only ``VACUUM`` gives back to the file system. Per-table sizes come from the
``dbstat`` virtual table when SQLite was built with it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opsbooks_playbooks.actions.db.manifest import DbError


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextlib.contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """Open an existing database file read-write, autocommit (VACUUM needs it)."""
    if not path.is_file():
        raise DbError(f"database file {path} does not exist; check the sqlite:/// URL")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise DbError(f"cannot open {path}: {exc}") from None
    try:
        yield conn
    except sqlite3.Error as exc:
        raise DbError(f"{path}: {exc}") from None
    finally:
        conn.close()


def file_bytes(path: Path) -> int:
    """Size of the database file plus its write-ahead log, if any."""
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _table_bytes(conn: sqlite3.Connection) -> dict[str, int]:
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:  # built without dbstat
        return {}
    return {str(name): int(size) for name, size in rows}


def figures(path: Path, tables: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One row for the file (name ``(file)``), then one per table: bytes and rows."""
    with connect(path) as conn:
        page = int(conn.execute("PRAGMA page_size").fetchone()[0])
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
        free = int(conn.execute("PRAGMA freelist_count").fetchone()[0])
        names = [
            str(r[0])
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        missing = sorted(set(tables) - set(names))
        if missing:
            raise DbError(f"no table {', '.join(missing)} in {path}; tables: {', '.join(names)}")
        sizes = _table_bytes(conn)
        rows: list[dict[str, Any]] = [
            {
                "name": "(file)",
                "total_bytes": file_bytes(path),
                "table_bytes": page * pages,
                "index_bytes": 0,
                "live_tuples": 0,
                "dead_tuples": 0,
                "bloat_bytes": page * free,
            }
        ]
        for name in tables or names:
            count = int(conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0])
            index_names = [
                str(r[0])
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                    (name,),
                )
            ]
            index_bytes = sum(sizes.get(i, 0) for i in index_names)
            rows.append(
                {
                    "name": name,
                    "total_bytes": sizes.get(name, 0) + index_bytes,
                    "table_bytes": sizes.get(name, 0),
                    "index_bytes": index_bytes,
                    "live_tuples": count,
                    "dead_tuples": 0,
                    "bloat_bytes": 0,
                }
            )
    return rows


def vacuum(path: Path) -> list[str]:
    """``VACUUM`` then ``PRAGMA optimize``: rebuild the file without its free pages."""
    with connect(path) as conn:
        conn.execute("VACUUM")
        conn.execute("PRAGMA optimize")
    return ["VACUUM", "PRAGMA optimize"]


def analyze(path: Path, tables: Sequence[str] = ()) -> list[str]:
    """``ANALYZE`` the tables (all when none are named), then ``PRAGMA optimize``."""
    with connect(path) as conn:
        done = []
        for table in tables or [""]:
            sql = f"ANALYZE {_quote(table)}" if table else "ANALYZE"
            conn.execute(sql)
            done.append(sql)
        conn.execute("PRAGMA optimize")
    return [*done, "PRAGMA optimize"]


def reindex(path: Path, tables: Sequence[str] = ()) -> list[str]:
    """``REINDEX`` the tables' indexes (the whole database when none are named)."""
    with connect(path) as conn:
        done = []
        for table in tables or [""]:
            sql = f"REINDEX {_quote(table)}" if table else "REINDEX"
            conn.execute(sql)
            done.append(sql)
    return done


def integrity(path: Path) -> str:
    """Fail unless ``PRAGMA integrity_check`` answers ``ok``."""
    with connect(path) as conn:
        found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(20)")]
    if found != ["ok"]:
        raise DbError(
            f"PRAGMA integrity_check of {path} failed: {'; '.join(found[:3])}; restore the "
            "newest verified backup (backup.restore)"
        )
    return f"{path}: PRAGMA integrity_check ok"
