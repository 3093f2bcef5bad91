"""Real parts for the troubleshoot.{database,performance,mcp} drills: HTTP servers, sessions."""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from opsbooks.testing.postgres import PostgresServer

HERE = Path(__file__).parent
MCP_SERVER = HERE / "mcp_server.py"
#: the test server's max_connections: low enough that holding a handful saturates it
MAX_CONNECTIONS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def http_endpoint(delay: float = 0.0, status: int = 200) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 answering every GET after ``delay`` with ``status``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if delay:
                time.sleep(delay)
            body = b"ok\n" if status < 400 else b"error\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def mcp_http_server(mode: str = "ok") -> Iterator[str]:
    """The drill MCP server on streamable HTTP; yields its base URL (``.../mcp`` is MCP)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(MCP_SERVER), "--mode", mode, "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the MCP HTTP server did not start (exit {proc.poll()})")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def session(pg: PostgresServer, db: str = "postgres") -> psycopg.Connection[Any]:
    """A real client session on the test server (autocommit)."""
    return psycopg.connect(pg.url_for(db), autocommit=True)


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    """Poll ``predicate`` every 20 ms until it is true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


@contextmanager
def background_query(pg: PostgresServer, sql: str, db: str = "postgres") -> Iterator[int]:
    """Run ``sql`` in another session on a thread; yield that session's backend pid."""
    conn = session(pg, db)
    pid = conn.info.backend_pid
    errors: list[BaseException] = []

    def run() -> None:
        try:
            conn.execute(sql)
        except psycopg.Error as exc:  # cancelled or terminated at cleanup
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield pid
    finally:
        with session(pg) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        thread.join(timeout=10)
        conn.close()


class Standby:
    """A real streaming standby of ``primary``, made once by ``pg_basebackup -R``.

    ``start(hot=True)`` runs it as a hot standby (it answers read-only queries);
    ``start(hot=False)`` with ``hot_standby = off``: it replicates but refuses every
    connection ("the database system is not accepting connections"), so pg_isready
    answers 1. ``stop()`` stops it (``-m immediate``). Built from the test kit's own
    helpers, so it runs as the same unprivileged user as the primary under root.
    """

    def __init__(self, primary: PostgresServer, base: Path) -> None:
        from opsbooks.testing import postgres as kit

        self.kit, self.primary, self.base = kit, primary, base
        self.runas = kit._unprivileged_user()
        self.data, self.sock = base / "data", base / "sock"
        self.server: PostgresServer | None = None
        self.sock.mkdir(mode=0o700)
        if self.runas is not None:
            os.chown(base, self.runas.pw_uid, self.runas.pw_gid)
            os.chown(self.sock, self.runas.pw_uid, self.runas.pw_gid)
        kit._run(
            [
                kit.client_tool("pg_basebackup"),
                *("-h", primary.host, "-p", str(primary.port), "-U", primary.user),
                *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast"),
            ],
            self.runas,
            base,
        )

    def start(self, *, hot: bool = True) -> PostgresServer:
        port = free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {self.sock}"
        options += "" if hot else " -c hot_standby=off"
        self.kit._run(
            [
                str(self.primary.bin_dir / "pg_ctl"),
                *("-D", str(self.data), "-l", str(self.data / "server.log")),
                *("-o", options, "-w", "-t", "60", "start"),
            ],
            self.runas,
            self.base,
        )
        self.server = self.kit.PostgresServer(port, self.sock, self.data, self.primary.bin_dir)
        return self.server

    def stop(self) -> None:
        if self.server is None:
            return
        self.kit._run(
            [str(self.primary.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
            self.runas,
            self.base,
            check=False,
        )
        self.server = None


@contextmanager
def standby_of(primary: PostgresServer) -> Iterator[Standby]:
    """A ``Standby`` of ``primary`` in a private directory, stopped and removed after."""
    base = Path(tempfile.mkdtemp(prefix="opsbooks-standby-"))
    base.chmod(0o755)
    try:
        standby = Standby(primary, base)
        try:
            yield standby
        finally:
            standby.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
