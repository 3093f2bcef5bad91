"""SQLite check: ``PRAGMA integrity_check`` on a database file, opened read-only."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from opsbooks.actions import Arg, Result
from opsbooks_playbooks.actions import program


def _one_line(text: object) -> str:
    return " ".join(str(text).split()) or "-"


def integrity(
    path: Annotated[Path, Arg(help="the SQLite database file")],
    max_errors: Annotated[int, Arg(help="problems to list at most")] = 20,
) -> Result:
    """Run ``PRAGMA integrity_check`` read-only; publish ``integrity`` ok, corrupt or missing."""
    if not path.is_file():
        return Result(
            f"{path} does not exist or is not a file",
            {"integrity": "missing", "integrity_detail": f"no file at {path}"},
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute(f"PRAGMA integrity_check({int(max_errors)})").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return Result(
            f"PRAGMA integrity_check on {path}: {exc}",
            {"integrity": "corrupt", "integrity_detail": _one_line(exc)},
        )
    problems = [str(row[0]) for row in rows]
    if problems == ["ok"]:
        return Result(
            f"PRAGMA integrity_check on {path}: ok",
            {"integrity": "ok", "integrity_detail": "ok"},
        )
    text = "\n".join([f"PRAGMA integrity_check on {path}:", *problems])
    return Result(text, {"integrity": "corrupt", "integrity_detail": _one_line(problems[0])})


PROGRAM = program("diagnose.sqlite", __doc__)
PROGRAM.command(integrity)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.diagnose.sqlite``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
