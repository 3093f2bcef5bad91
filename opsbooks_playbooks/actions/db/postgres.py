"""PostgreSQL: ``pg_dump -Fc`` from one snapshot, scratch restores, and swap-in restores.

Row counts are taken in the very snapshot ``pg_dump`` uses (exported from a
repeatable-read transaction), so they match the dump even while writers write.
A restore goes into a new database first and is then renamed over the target;
the old database is kept, renamed ``<name>_pre_restore``, until the next restore.
Passwords travel only in ``PGPASSWORD``, never in argv, and are starred in errors.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn
from urllib.parse import parse_qsl, unquote, urlsplit

from opsbooks_playbooks.actions.db.manifest import REDACTED, DbError, DbUsageError, redact_url

EXTENSION = "pgdump"
MAX_IDENT = 63
_END = "__opsbooks_end__"
_PSQL_FLAGS = ("-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1")
COUNTS_SQL = """
SELECT coalesce(json_object_agg(name, n ORDER BY name), '{}')
FROM (
  SELECT format('%s.%s', ns.nspname, c.relname) AS name,
         (xpath('/row/n/text()', query_to_xml(
            format('SELECT count(*) AS n FROM %I.%I', ns.nspname, c.relname),
            false, true, '')))[1]::text::bigint AS n
  FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
    AND ns.nspname NOT LIKE 'pg_toast%' AND ns.nspname NOT LIKE 'pg_temp%'
) AS t
""".strip()


@dataclass(frozen=True)
class Target:
    """A database on a server, parsed from a ``postgresql://`` URL."""

    dbname: str
    options: dict[str, str] = field(default_factory=dict)
    password: str | None = field(default=None, repr=False)
    url: str = ""

    @property
    def shown(self) -> str:
        return redact_url(self.url)

    def conninfo(self, dbname: str | None = None) -> str:
        """A libpq keyword string without the password (that goes in the environment)."""
        pairs = {**self.options, "dbname": dbname or self.dbname}
        return " ".join(f"{key}={_quote_conninfo(value)}" for key, value in pairs.items())

    def on(self, dbname: str) -> Target:
        return replace(self, dbname=dbname)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("PGCONNECT_TIMEOUT", "10")
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env

    def redact(self, text: str) -> str:
        text = text.replace(self.url, self.shown) if self.url else text
        return text.replace(self.password, REDACTED) if self.password else text


@dataclass(frozen=True)
class Snapshot:
    """What a dump saw: row counts per table and the watermark query's answer."""

    tables: dict[str, int]
    watermark: str | None
    tool: str
    journal_mode: str = ""


def client_tool(name: str) -> str:
    """Find a client tool on PATH, else in Debian's versioned dirs (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True):
        if os.access(os.path.join(folder, name), os.X_OK):
            return os.path.join(folder, name)
    raise DbError(f"{name} not found; install PostgreSQL's client tools (postgresql-client)")


def _version(folder: str) -> int:
    digits = "".join(ch for ch in folder if ch.isdigit())
    return int(digits or 0)


def _quote_conninfo(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse(url: str) -> Target:
    """Read ``postgresql://user[:password]@host:port/dbname[?host=/socket/dir&sslmode=...]``."""
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise DbUsageError(f"{redact_url(url)}: name the database, e.g. postgresql://host/app")
    options: dict[str, str] = {}
    if parts.hostname:
        options["host"] = parts.hostname
    try:
        port = parts.port
    except ValueError:
        raise DbUsageError(f"{redact_url(url)}: the port is not a number") from None
    if port:
        options["port"] = str(port)
    if parts.username:
        options["user"] = unquote(parts.username)
    password = unquote(parts.password) if parts.password is not None else None
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password":
            password = value
        else:
            options[key] = value
    return Target(dbname=dbname, options=options, password=password, url=url)


def database_name(target: Target) -> str:
    return target.dbname


def _run(
    argv: Sequence[str], target: Target, *, what: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    tool = client_tool(argv[0])
    try:
        result = subprocess.run(
            [tool, *argv[1:]],
            input=stdin,
            capture_output=True,
            text=True,
            env=target.env(),
            check=False,
        )
    except OSError as exc:
        raise DbError(f"{what}: cannot run {argv[0]}: {exc.strerror}") from None
    if result.returncode != 0:
        detail = target.redact(_reason(result.stderr))
        raise DbError(
            f"{what} on {target.shown} failed ({argv[0]} exit {result.returncode}): {detail}"
        )
    return result


def _reason(stderr: str) -> str:
    """The line of a tool's stderr that says what went wrong (not the hint after it)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if any(word in line for word in ("error", "FATAL", "failed", "fatal")):
            return line
    return lines[-1] if lines else "no error message"


def psql(target: Target, sql: str, *, dbname: str | None = None, what: str = "query") -> str:
    """Run one statement; return unaligned, tuples-only output."""
    result = _run(
        ["psql", *_PSQL_FLAGS, "-d", target.conninfo(dbname), "-c", sql], target, what=what
    )
    return result.stdout.strip()


def _admin(target: Target, sql: str, what: str) -> str:
    """Run ``sql`` from the maintenance database (``postgres``), never the target itself."""
    return psql(target, sql, dbname="postgres", what=what)


def exists(target: Target, dbname: str | None = None) -> bool:
    name = dbname or target.dbname
    found = _admin(
        target,
        f"SELECT 1 FROM pg_database WHERE datname = {literal(name)}",
        f"look up database {name}",
    )
    return found == "1"


class _Session:
    """A psql co-process holding one transaction open while other tools use its snapshot."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.proc = subprocess.Popen(
            [client_tool("psql"), *_PSQL_FLAGS, "-d", target.conninfo()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=target.env(),
        )

    def query(self, sql: str, what: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(f"{sql.rstrip().rstrip(';')};\n\\echo {_END}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            self._fail(what)
        lines: list[str] = []
        for line in self.proc.stdout:
            if line.rstrip("\n") == _END:
                return "\n".join(lines).strip()
            lines.append(line.rstrip("\n"))
        self._fail(what)

    def _fail(self, what: str) -> NoReturn:
        self.proc.kill()
        _, err = self.proc.communicate()
        detail = self.target.redact(_reason(err))
        raise DbError(f"{what} failed on {self.target.shown}: {detail or 'psql exited'}")

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.communicate("ROLLBACK;\n", timeout=30)


@contextlib.contextmanager
def _snapshot(target: Target) -> Iterator[tuple[_Session, str]]:
    session = _Session(target)
    try:
        session.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin snapshot")
        yield session, session.query("SELECT pg_export_snapshot()", "export snapshot")
    finally:
        session.close()


def dump(target: Target, out: Path, watermark_sql: str | None) -> Snapshot:
    """``pg_dump -Fc`` into ``out``; counts and watermark come from the same snapshot."""
    with _snapshot(target) as (session, snapshot_id):
        _run(
            [
                "pg_dump",
                "-Fc",
                f"--snapshot={snapshot_id}",
                "-f",
                str(out),
                "-d",
                target.conninfo(),
            ],
            target,
            what="pg_dump",
        )
        counts = json.loads(session.query(COUNTS_SQL, "count rows") or "{}")
        watermark = None
        if watermark_sql:
            answer = session.query(watermark_sql, "watermark query")
            watermark = answer.splitlines()[0].split("|")[0] if answer else None
    version = _run(["pg_dump", "--version"], target, what="pg_dump --version").stdout.strip()
    return Snapshot({k: int(v) for k, v in counts.items()}, watermark or None, version)


def check(target: Target) -> str:
    """``pg_isready`` and a ``SELECT 1`` in the database itself."""
    ready = subprocess.run(
        [client_tool("pg_isready"), "-q", "-d", target.conninfo()],
        env=target.env(),
        check=False,
    )
    if ready.returncode != 0:
        reason = {1: "rejecting connections", 2: "not responding", 3: "bad connection settings"}
        raise DbError(
            f"server of {target.shown} is {reason.get(ready.returncode, 'not ready')} "
            f"(pg_isready exit {ready.returncode})"
        )
    psql(target, "SELECT 1", what="SELECT 1")
    return f"{target.shown}: accepting connections, SELECT 1 ok"


def counts(target: Target) -> dict[str, int]:
    raw = psql(target, COUNTS_SQL, what="count rows")
    return {k: int(v) for k, v in json.loads(raw or "{}").items()}


def _restore_into(backup: Path, target: Target, dbname: str, *, no_owner: bool) -> None:
    _admin(target, f"CREATE DATABASE {ident(dbname)}", f"create database {dbname}")
    extra = ["--no-owner", "--no-privileges"] if no_owner else []
    try:
        _run(
            ["pg_restore", "--exit-on-error", *extra, "-d", target.conninfo(dbname), str(backup)],
            target,
            what=f"pg_restore of {backup.name}",
        )
    except DbError:
        _drop(target, dbname)
        raise


def _drop(target: Target, dbname: str) -> None:
    _admin(target, f"DROP DATABASE IF EXISTS {ident(dbname)} WITH (FORCE)", f"drop {dbname}")


def scratch_counts(backup: Path, server: Target) -> dict[str, int]:
    """Restore into a throwaway database on ``server``, count its rows, drop it."""
    scratch = f"opsbooks_verify_{secrets.token_hex(4)}"
    _restore_into(backup, server, scratch, no_owner=True)
    try:
        return counts(server.on(scratch))
    finally:
        _drop(server, scratch)


def _names(target: Target) -> tuple[str, str]:
    staging, pre = f"{target.dbname}_restoring", pre_restore_name(target)
    if len(pre.encode()) > MAX_IDENT:
        raise DbUsageError(
            f"database name {target.dbname!r} is too long to keep a pre-restore copy"
        )
    return staging, pre


def pre_restore_name(target: Target) -> str:
    return f"{target.dbname}_pre_restore"


CREATED_BY_RESTORE = "opsbooks: created by a restore; nothing was here before"


def _comment(target: Target) -> str:
    return _admin(
        target,
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
        f"WHERE datname = {literal(target.dbname)}",
        f"read the comment of database {target.dbname}",
    )


def restore(backup: Path, target: Target, *, force: bool, no_owner: bool = False) -> str:
    """Restore into ``<name>_restoring``, then swap it in; keep the old one as pre-restore."""
    staging, pre = _names(target)
    present = exists(target)
    if present and not force:
        raise DbUsageError(
            f"database {target.dbname} exists on {target.shown}; pass --force to replace it "
            f"(the old one is kept as {pre})"
        )
    _drop(target, staging)
    _restore_into(backup, target, staging, no_owner=no_owner)
    kept = ""
    if present:
        _drop(target, pre)
        _rename(target, target.dbname, pre)
        kept = f"; previous database kept as {pre}"
    try:
        _rename(target, staging, target.dbname)
    except DbError:
        if present:
            _rename(target, pre, target.dbname)
        raise
    if not present:  # so its undo knows to remove it, leaving the server as it was
        _admin(
            target,
            f"COMMENT ON DATABASE {ident(target.dbname)} IS {literal(CREATED_BY_RESTORE)}",
            f"mark database {target.dbname} as created by the restore",
        )
    return f"restored {backup.name} into {target.shown}{kept}"


def _rename(target: Target, old: str, new: str) -> None:
    """Close ``old`` to new sessions, end the ones it has, then rename it.

    If the rename fails, ``old`` is opened to connections again before the error
    goes up, so a failed swap never leaves the live database locked out.
    """
    what = f"rename database {old} to {new}"
    _admin(target, f"ALTER DATABASE {ident(old)} ALLOW_CONNECTIONS false", what)
    try:
        _admin(
            target,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = {literal(old)} AND pid <> pg_backend_pid()",
            what,
        )
        _admin(target, f"ALTER DATABASE {ident(old)} RENAME TO {ident(new)}", what)
    except DbError:
        with contextlib.suppress(DbError):
            _admin(target, f"ALTER DATABASE {ident(old)} ALLOW_CONNECTIONS true", what)
        raise
    _admin(target, f"ALTER DATABASE {ident(new)} ALLOW_CONNECTIONS true", what)


def undo_restore(target: Target) -> str:
    """Put the server back as it was before the restore.

    With a ``<name>_pre_restore`` copy: drop the restored database and rename the copy
    back. Without one, a database the restore created (marked by its comment) is
    dropped, since nothing was there before; anything else is left alone.
    """
    pre = pre_restore_name(target)
    if not exists(target, pre):
        if exists(target) and _comment(target) == CREATED_BY_RESTORE:
            _drop(target, target.dbname)
            return f"dropped {target.dbname} on {target.shown}: the restore created it"
        return f"no database {pre} on {target.shown}: the restore replaced nothing; left as is"
    _drop(target, target.dbname)
    _rename(target, pre, target.dbname)
    return f"put {pre} back as {target.dbname}"


def drop(target: Target) -> str:
    """Drop the database and its pre-restore copy."""
    _drop(target, target.dbname)
    _drop(target, pre_restore_name(target))
    return f"dropped {target.dbname} on {target.shown}"
