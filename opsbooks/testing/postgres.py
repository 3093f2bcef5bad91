"""Start a throwaway PostgreSQL server on loopback, for tests and scripted DR drills.

The server lives in a temporary directory, listens on 127.0.0.1 on a free port with
trust authentication, and is stopped and deleted on exit. PostgreSQL refuses to run
as root, so under root the server runs as the unprivileged ``nobody`` user; client
tools (``psql``, ``pg_dump``) still run as the caller and connect over TCP.

    with postgres_server(tmp_path) as pg:
        pg.createdb("app")
        pg.psql("create table t (id int)", db="app")
        url = pg.url_for("app")      # postgresql://postgres@127.0.0.1:PORT/app
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
_SEARCH = ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin")
_SOCKET_PATH_LIMIT = 90


class PostgresUnavailable(RuntimeError):
    """The server binaries are missing or the server would not start; the message says why."""


@dataclass(frozen=True)
class PostgresServer:
    """A running test server: connect with ``url_for(dbname)``."""

    port: int
    socket_dir: Path
    data_dir: Path
    bin_dir: Path
    user: str = SUPERUSER
    host: str = "127.0.0.1"

    def url_for(self, dbname: str) -> str:
        """Return the ``postgresql://`` URL of database ``dbname`` on this server."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run ``sql`` in database ``db``; return unaligned, tuples-only output."""
        result = subprocess.run(
            [
                client_tool("psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.url_for(db),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed in {db}: {result.stderr.strip()}")
        return result.stdout.strip()

    def createdb(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def dropdb(self, name: str) -> None:
        """Drop database ``name`` (even with clients connected) if it exists."""
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def find_bin_dir(tools: Sequence[str] = SERVER_TOOLS) -> Path:
    """Find the directory holding the server binaries: PATH first, then distro locations."""
    on_path = shutil.which(tools[0])
    if on_path:
        folder = Path(on_path).resolve().parent
        if all((folder / tool).exists() for tool in tools):
            return folder
    candidates = sorted(
        (Path(p) for pattern in _SEARCH for p in _glob(pattern)),
        key=_version_key,
        reverse=True,
    )
    for folder in candidates:
        if all((folder / tool).exists() for tool in tools):
            return folder
    raise PostgresUnavailable(
        f"PostgreSQL server binaries ({', '.join(tools)}) not found on PATH or in "
        f"{', '.join(_SEARCH)}; install the 'postgresql' package (scripts/system-deps.sh)."
    )


def client_tool(name: str) -> str:
    """Return the path of a client tool (``psql``, ``pg_dump``...) from PATH or distro dirs."""
    found = shutil.which(name)
    if found:
        return found
    for pattern in _SEARCH:
        for folder in sorted(_glob(pattern), key=_version_key, reverse=True):
            if (Path(folder) / name).exists():
                return str(Path(folder) / name)
    raise PostgresUnavailable(f"{name} not found; install the 'postgresql-client' package")


def _glob(pattern: str) -> list[str]:
    return glob.glob(pattern)


def _version_key(path: Path | str) -> tuple[int, ...]:
    """Sort ``/usr/lib/postgresql/16/bin`` after ``.../15/bin``."""
    return tuple(int(number) for number in re.findall(r"\d+", str(path)))


def free_port() -> int:
    """Ask the kernel for a free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def postgres_server(
    tmpdir: Path | str, *, settings: Mapping[str, str] | None = None
) -> Iterator[PostgresServer]:
    """Init, start and yield a server under ``tmpdir``; stop and delete it on exit.

    ``settings`` are extra server settings (``{"max_connections": "20"}``), given as
    ``-c name=value`` options at start.

    Under root, when the unprivileged user cannot reach ``tmpdir`` (pytest's temp
    dirs are private) or its path is too long for a unix socket, a private directory
    under the system temp dir is used instead and removed afterwards.
    """
    bin_dir = find_bin_dir()
    runas = _unprivileged_user()
    Path(tmpdir).mkdir(parents=True, exist_ok=True)
    base, owned = _base_dir(Path(tmpdir), runas)
    data_dir, socket_dir = base / "data", base / "sock"
    try:
        for folder in (data_dir, socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            if runas is not None:
                os.chown(folder, runas.pw_uid, runas.pw_gid)
            folder.chmod(0o700)
        _run(
            [
                str(bin_dir / "initdb"),
                *("-D", str(data_dir), "-U", SUPERUSER, "--auth=trust"),
                *("-E", "UTF8", "--no-sync", "--no-instructions"),
            ],
            runas,
            base,
        )
        extra = "".join(f" -c {k}={v}" for k, v in (settings or {}).items())
        server = _start(bin_dir, data_dir, socket_dir, runas, base, extra)
        try:
            yield server
        finally:
            _run(
                [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"],
                runas,
                base,
                check=False,
            )
    finally:
        if owned:
            shutil.rmtree(base, ignore_errors=True)


def _start(
    bin_dir: Path,
    data_dir: Path,
    socket_dir: Path,
    runas: pwd.struct_passwd | None,
    base: Path,
    extra: str = "",
) -> PostgresServer:
    last_error = ""
    for _ in range(3):
        port = free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off" + extra
        )
        result = _run(
            [
                str(bin_dir / "pg_ctl"),
                *("-D", str(data_dir), "-l", str(data_dir / "server.log")),
                *("-o", options, "-w", "-t", "60", "start"),
            ],
            runas,
            base,
            check=False,
        )
        if result.returncode == 0:
            server = PostgresServer(port, socket_dir, data_dir, bin_dir)
            _wait_ready(server)
            return server
        last_error = _tail(data_dir / "server.log") or result.stderr
    raise PostgresUnavailable(f"PostgreSQL did not start: {last_error.strip()}")


def _wait_ready(server: PostgresServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = subprocess.run(
            [client_tool("pg_isready"), "-q", "-h", server.host, "-p", str(server.port)],
            check=False,
        )
        if result.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise PostgresUnavailable(f"server on port {server.port} not ready after {timeout}s")
        time.sleep(0.1)


def _run(
    argv: list[str],
    runas: pwd.struct_passwd | None,
    cwd: Path,
    *,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
    if runas is not None:
        env["HOME"] = str(cwd)
        env["USER"] = runas.pw_name
    result = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        user=None if runas is None else runas.pw_uid,
        group=None if runas is None else runas.pw_gid,
        extra_groups=None if runas is None else [],
    )
    if check and result.returncode != 0:
        raise PostgresUnavailable(
            f"{Path(argv[0]).name} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Return the user to run the server as when we are root; ``None`` otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresUnavailable("running as root and neither 'postgres' nor 'nobody' exists")


def _base_dir(tmpdir: Path, runas: pwd.struct_passwd | None) -> tuple[Path, bool]:
    """Pick the cluster directory; ``True`` when we created it and must delete it."""
    candidate = tmpdir.resolve() / "pg"
    short = len(str(candidate / "sock" / ".s.PGSQL.65535")) < _SOCKET_PATH_LIMIT
    if short and (runas is None or _reachable(tmpdir.resolve(), runas)):
        candidate.mkdir(parents=True, exist_ok=True)
        if runas is not None:
            os.chown(candidate, runas.pw_uid, runas.pw_gid)
        return candidate, False
    made = Path(tempfile.mkdtemp(prefix="opsbooks-pg-"))
    made.chmod(0o755)
    if runas is not None:
        os.chown(made, runas.pw_uid, runas.pw_gid)
    return made, True


def _reachable(path: Path, runas: pwd.struct_passwd) -> bool:
    """Whether ``runas`` can traverse every directory down to ``path``."""
    for folder in [path, *path.parents]:
        mode = folder.stat()
        if mode.st_uid == runas.pw_uid:
            continue
        if not mode.st_mode & stat.S_IXOTH:
            return False
    return True


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
