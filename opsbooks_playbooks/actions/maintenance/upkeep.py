"""Engine-neutral upkeep: figures before and after, the operations, and the summary.

``figures`` writes the figures to a JSON file and prints them as ``::metric`` lines
(``<label>_total_bytes``, ``<label>_dead_tuples``, ``<label>_bloat_bytes``,
``<label>_file_bytes`` for SQLite); ``summary`` compares two such files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opsbooks_playbooks.actions import db, write_atomic
from opsbooks_playbooks.actions.db import postgres, sqlite
from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError
from opsbooks_playbooks.actions.maintenance import lite, pg

Figures = list[dict[str, Any]]


def read_figures(url: str, tables: Sequence[str] = ()) -> Figures:
    """The figures of every named table (all user tables when none are)."""
    if db.engine_of(url) == "sqlite":
        return lite.figures(sqlite.parse(url), tables)
    return pg.figures(postgres.parse(url), tables)


def totals(rows: Figures) -> dict[str, int]:
    """Sums over the tables; for SQLite the file row gives the file size and free pages."""
    file_row = next((r for r in rows if r["name"] == "(file)"), None)
    tables = [r for r in rows if r["name"] != "(file)"]
    found = {
        "total_bytes": sum(int(r["total_bytes"]) for r in tables),
        "index_bytes": sum(int(r["index_bytes"]) for r in tables),
        "dead_tuples": sum(int(r["dead_tuples"]) for r in tables),
        "live_tuples": sum(int(r["live_tuples"]) for r in tables),
        "bloat_bytes": sum(int(r["bloat_bytes"]) for r in tables),
    }
    if file_row is not None:
        found["file_bytes"] = int(file_row["total_bytes"])
        found["bloat_bytes"] = int(file_row["bloat_bytes"])
    return found


def large_tables(rows: Figures, threshold: int) -> list[str]:
    """Tables whose total size (heap and indexes) is at least ``threshold`` bytes."""
    return [r["name"] for r in rows if r["name"] != "(file)" and r["total_bytes"] >= threshold]


def figures_report(
    url: str, tables: Sequence[str], label: str, save: Path, large_bytes: int | None
) -> str:
    """Read the figures, save them as JSON, and print the metric (and output) lines."""
    rows = read_figures(url, tables)
    write_atomic(save, json.dumps({"label": label, "tables": rows}, indent=2).encode())
    lines = [f"{r['name']}: {_row_text(r)}" for r in rows]
    lines += [f"::metric {label}_{key}={value}" for key, value in totals(rows).items()]
    if large_bytes is not None:
        large = large_tables(rows, large_bytes)
        lines.append(f"::output large_tables={','.join(large) or 'none'}")
    return "\n".join(lines)


def _row_text(row: dict[str, Any]) -> str:
    return (
        f"total {human_bytes(row['total_bytes'])}, heap {human_bytes(row['table_bytes'])}, "
        f"indexes {human_bytes(row['index_bytes'])}, live {row['live_tuples']}, "
        f"dead {row['dead_tuples']}, est. bloat {human_bytes(row['bloat_bytes'])}"
    )


def human_bytes(value: int) -> str:
    """``12.3 MiB`` and the like."""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - the loop always returns


def operate(url: str, operation: str, tables: Sequence[str]) -> list[str]:
    """Run ``vacuum`` (VACUUM (ANALYZE)), ``analyze`` or ``reindex``; return the statements."""
    if operation not in ("vacuum", "analyze", "reindex"):
        raise DbUsageError(f"unknown operation {operation!r}; use vacuum, analyze or reindex")
    if db.engine_of(url) == "sqlite":
        path = sqlite.parse(url)
        if operation == "vacuum":
            return lite.vacuum(path)
        return lite.analyze(path, tables) if operation == "analyze" else lite.reindex(path, tables)
    target = postgres.parse(url)
    if operation == "vacuum":
        return pg.vacuum(target, tables)
    return pg.analyze(target, tables) if operation == "analyze" else pg.reindex(target, tables)


def integrity(url: str) -> str:
    """SQLite: PRAGMA integrity_check; PostgreSQL: reachable and no index left invalid."""
    if db.engine_of(url) == "sqlite":
        return lite.integrity(sqlite.parse(url))
    target = postgres.parse(url)
    postgres.check(target)
    bad = pg.invalid_indexes(target)
    if bad:
        raise DbError(
            f"invalid indexes in {target.shown}: {', '.join(bad)}; an interrupted REINDEX "
            "CONCURRENTLY leaves these: drop each (`DROP INDEX CONCURRENTLY name`) and reindex"
        )
    return f"{target.shown}: reachable, every index valid"


def _load(path: Path) -> Figures:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DbError(f"cannot read figures {path}: {exc}; run the figures step again") from None
    rows: Figures = data["tables"]
    return rows


def summary(before: Path, after: Path) -> str:
    """A before/after table and the ``reclaimed_bytes`` / ``dead_tuples_removed`` metrics."""
    old, new = _load(before), _load(after)
    by_name = {r["name"]: r for r in new}
    lines = ["table | total before -> after | dead tuples before -> after | est. bloat after"]
    for row in old:
        now = by_name.get(row["name"], row)
        lines.append(
            f"{row['name']} | {human_bytes(row['total_bytes'])} -> "
            f"{human_bytes(now['total_bytes'])} | {row['dead_tuples']} -> {now['dead_tuples']}"
            f" | {human_bytes(now['bloat_bytes'])}"
        )
    t_old, t_new = totals(old), totals(new)
    size_key = "file_bytes" if "file_bytes" in t_old else "total_bytes"
    reclaimed = t_old[size_key] - t_new[size_key]
    removed = t_old["dead_tuples"] - t_new["dead_tuples"]
    lines.append(f"reclaimed {human_bytes(reclaimed)}; dead tuples removed: {removed}")
    lines.append(f"::metric reclaimed_bytes={reclaimed}")
    lines.append(f"::metric dead_tuples_removed={removed}")
    return "\n".join(lines)
