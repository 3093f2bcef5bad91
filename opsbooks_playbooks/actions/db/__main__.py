"""``python -m opsbooks_playbooks.actions.db``: the database actions as copy-pasteable commands.

Exit status: 0 ok; 1 the action or check failed (one line on stderr says why);
2 bad usage. Passwords in URLs are starred in everything printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opsbooks.actions import Program
from opsbooks.define.policies import human, seconds
from opsbooks.errors import EXIT_BAD_INPUT
from opsbooks_playbooks.actions import db
from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError, Manifest, iso, resolve

PROG = "python -m opsbooks_playbooks.actions.db"
Handler = Callable[[argparse.Namespace], str]


def _emit(args: argparse.Namespace, text: str, data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True) if getattr(args, "json", False) else text


def _summary(path: Path, manifest: Manifest) -> dict[str, Any]:
    return {
        "backup": str(path),
        "engine": manifest.engine,
        "source": manifest.source,
        "created_at": manifest.created_at,
        "last_write_at": manifest.last_write_at,
        "recovery_point": iso(manifest.recovery_point),
        "sha256": manifest.sha256,
        "size": manifest.size,
        "tables": manifest.tables,
        "verified_at": manifest.verified_at,
    }


def _backup(args: argparse.Namespace) -> str:
    path, manifest, pruned = db.backup(
        args.db, Path(args.dest), keep=args.keep, watermark_sql=args.watermark_sql or None
    )
    rows = sum(manifest.tables.values())
    text = (
        f"backup {path} ({manifest.size} bytes, sha256 {manifest.sha256[:12]}, "
        f"{len(manifest.tables)} tables, {rows} rows)"
    )
    if pruned:
        text += f"; pruned {len(pruned)} older generation(s)"
    return _emit(args, text, _summary(path, manifest) | {"pruned": [str(p) for p in pruned]})


def _verify(args: argparse.Namespace) -> str:
    path, manifest = db.verify(Path(args.backup), servers=args.server)
    rows = sum(manifest.tables.values())
    text = (
        f"verified {path}: checksum ok, restored into a scratch database, integrity ok, "
        f"row counts match ({len(manifest.tables)} tables, {rows} rows)"
    )
    return _emit(args, text, _summary(path, manifest))


def _restore(args: argparse.Namespace) -> str:
    message, path, manifest = db.restore(
        Path(args.backup),
        args.db,
        force=args.force,
        verified_only=args.verified_only,
        no_owner=args.no_owner,
    )
    age = db.age(path)
    data = _summary(path, manifest) | {"target": db.redact_url(args.db), "age_seconds": age}
    return _emit(args, f"{message} (backup age {human(age)})", data)


def _undo_restore(args: argparse.Namespace) -> str:
    return db.undo_restore(args.db)


def _latest(args: argparse.Namespace) -> str:
    path, manifest = db.latest(Path(args.dest), verified_only=args.verified_only)
    return _emit(args, str(path), _summary(path, manifest))


def _check(args: argparse.Namespace) -> str:
    return db.check(args.db)


def _counts(args: argparse.Namespace) -> str:
    return json.dumps(db.counts(args.db), sort_keys=True)


def _compare(args: argparse.Namespace) -> str:
    return db.compare(args.db, Path(args.backup), verified_only=args.verified_only)


def _age(args: argparse.Namespace) -> str:
    path, manifest = resolve(Path(args.backup), verified_only=args.verified_only)
    age = db.age(path)
    if args.max and age > seconds(args.max):
        raise DbError(f"backup {path.name} is {human(age)} old, older than the allowed {args.max}")
    data = _summary(path, manifest) | {"age_seconds": age, "age": human(age)}
    return _emit(args, str(int(age)), data)


def _drop(args: argparse.Namespace) -> str:
    return db.drop(args.db)


def _switch(args: argparse.Namespace) -> str:
    if args.back:
        return db.switch_back(Path(args.config))
    if not args.db:
        raise DbUsageError("switch needs --db URL (or --back to undo the last switch)")
    return db.switch_endpoint(Path(args.config), args.db, key=args.key or None)


def url_arg(text: str) -> str:
    """A database URL, or ``env:NAME`` for the URL in environment variable NAME.

    A password on the command line is readable by every user of the machine
    (``/proc/PID/cmdline``); runbooks hand URLs over in the environment. An unset or
    empty variable is an empty URL (an optional ``--server``).
    """
    if text.startswith("env:"):
        name = text.removeprefix("env:")
        if not name.isidentifier():
            raise argparse.ArgumentTypeError(f"env:{name}: name an environment variable")
        return os.environ.get(name, "")
    if text.startswith("-"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a database URL")
    return text


def program() -> Program:
    """The program; one subcommand per action. A ``ValueError`` is bad usage (exit 2)."""
    top = Program(PROG, __doc__, errors={ValueError: EXIT_BAD_INPUT})
    sub = top.add

    url_help = (
        "sqlite:///abs/path.db or postgresql://user@host:port/dbname, or env:NAME for the "
        "URL in environment variable NAME (keeps a password off the command line)"
    )
    item = sub("backup", _backup, "back up a database into a directory, with a manifest")
    item.add_argument("--db", required=True, type=url_arg, help=url_help)
    item.add_argument("--dest", required=True, help="backup directory")
    item.add_argument("--keep", type=int, help="keep the newest N generations of this source")
    item.add_argument("--watermark-sql", default="", help="query whose answer is the last write")
    item.add_argument("--json", action="store_true")

    item = sub("verify", _verify, "checksum, scratch restore, integrity and row-count check")
    item.add_argument("--backup", required=True, help="backup file, or a directory for its newest")
    item.add_argument(
        "--server",
        action="append",
        default=[],
        type=url_arg,
        help="PostgreSQL server for the scratch database; the first non-empty PostgreSQL "
        "URL of repeated --server options wins (default: the backup's source)",
    )
    item.add_argument("--json", action="store_true")

    item = sub("restore", _restore, "restore a backup into a database, keeping the old one")
    item.add_argument("--backup", required=True, help="backup file, or a directory for its newest")
    item.add_argument("--db", required=True, type=url_arg, help=url_help)
    item.add_argument("--force", action="store_true", help="replace an existing database")
    item.add_argument("--verified-only", action="store_true")
    item.add_argument("--no-owner", action="store_true", help="PostgreSQL: skip owners and ACLs")
    item.add_argument("--json", action="store_true")

    item = sub("undo-restore", _undo_restore, "put back what the last restore replaced")
    item.add_argument("--db", required=True, type=url_arg, help=url_help)

    item = sub("latest", _latest, "print the newest backup in a directory")
    item.add_argument("--dest", required=True, help="backup directory")
    item.add_argument("--verified-only", action="store_true")
    item.add_argument("--json", action="store_true")

    item = sub("check", _check, "fail unless the database is reachable and sound")
    item.add_argument("--db", required=True, type=url_arg, help=url_help)

    item = sub("counts", _counts, "print row counts per table as JSON")
    item.add_argument("--db", required=True, type=url_arg, help=url_help)

    item = sub("compare", _compare, "fail unless the database holds the backup's row counts")
    item.add_argument("--db", required=True, type=url_arg, help=url_help)
    item.add_argument("--backup", required=True, help="backup file, or a directory for its newest")
    item.add_argument("--verified-only", action="store_true")

    item = sub("age", _age, "print the seconds since a backup was taken")
    item.add_argument("--backup", required=True, help="backup file, or a directory for its newest")
    item.add_argument("--verified-only", action="store_true")
    item.add_argument("--max", default="", help="fail if older than this (e.g. 1h, 90m)")
    item.add_argument("--json", action="store_true")

    item = sub("drop", _drop, "delete a scratch database and its pre-restore copy")
    item.add_argument("--db", required=True, type=url_arg, help=url_help)

    item = sub("switch", _switch, "point a service's config file at a database URL")
    item.add_argument("--config", required=True, help="the file the service reads its URL from")
    item.add_argument("--db", default="", type=url_arg, help=url_help)
    item.add_argument("--key", default="", help="change only the KEY=... line of the file")
    item.add_argument("--back", action="store_true", help="undo the last switch")
    return top


def parser() -> argparse.ArgumentParser:
    """The argument parser; one sub-parser per action."""
    return PROGRAM.parser()


PROGRAM = program()


def main(argv: Sequence[str] | None = None) -> int:
    """Run one action; return the exit status."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    sys.exit(main())
