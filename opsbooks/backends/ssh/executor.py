"""Run commands and move files on inventory hosts over SSH: the ``HostBackend`` of fabric.

The only module that runs fabric ``Connection``s (``connect`` makes them, one config
each). Host keys are checked against known_hosts and an unknown or changed key is
refused (fabric would accept any); trusting a new key is an explicit setting and
every key trusted that way is saved and reported. Every command runs as
``timeout -k K T sh -c '<cmd>'`` on the host, so a timed-out command dies there too;
a local deadline a little later backs that up if the connection itself hangs.
Every failure becomes a per-host ``HostResult`` with a plain reason; nothing here
raises for a host that is down, refuses or misbehaves.

``become`` runs the command through ``sudo -u USER``: ``sudo -n`` (never asks) unless
the executor holds the run's sudo password, which then goes first on the session's
stdin (``sudo -S -k``), never on a command line; the script skips stdin up to a
marker line, so a host where sudo did not read the password never hands it on.
"""

from __future__ import annotations

import io
import re
import shlex
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paramiko
from fabric import Connection
from invoke.exceptions import CommandTimedOut

from opsbooks.backends.hosts.inventory import Host, Inventory
from opsbooks.backends.rollout import HostResult, tail
from opsbooks.backends.ssh.checks import Failure
from opsbooks.backends.ssh.connect import ChannelRefused, ConnectSettings
from opsbooks.backends.ssh.pool import ConnectionPool

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Reads NAME / octal-escaped value line pairs off stdin up to an empty line and
# exports them, so values reach the command's environment without ever being part
# of a command line (fabric would inline them, unquoted, into the command).
_ENV_PRELUDE = (
    'while IFS= read -r _ob_n && [ -n "$_ob_n" ]; do IFS= read -r _ob_v; '
    '_ob_v=$(printf "%bx" "$_ob_v"); export "$_ob_n=${_ob_v%x}"; done; unset _ob_n _ob_v\n'
)
# After a sudo password on stdin: skip to the marker, whether or not sudo read it.
_MARKER = "--opsbooks-stdin--"
_SKIP_PASSWORD = f'while IFS= read -r _ob_n && [ "$_ob_n" != {_MARKER} ]; do :; done\n'


class RemoteExecutor:
    """Connects to inventory hosts, runs commands there and moves files (a ``HostBackend``).

    Settings default to the inventory's ``[ssh]`` table; keyword arguments override.
    Raises ``InventoryError`` at once if the configured ssh config file is missing.
    Safe to use from many threads at once: connections share nothing mutable. With a
    ``pool``, connections are borrowed from it and given back after each call that
    went through (the run's probe and its steps then share one connection per host).
    """

    def __init__(
        self,
        inventory: Inventory,
        *,
        known_hosts: str | Path | None = None,
        trust_new_hosts: bool | None = None,
        connect_timeout: float | None = None,
        command_timeout: float | None = None,
        kill_after: float = 5.0,
        sudo_password: str | None = None,
        sudo: str = "sudo",
        pool: ConnectionPool | None = None,
    ) -> None:
        self.inventory = inventory
        self.settings = ConnectSettings.from_inventory(
            inventory,
            known_hosts=known_hosts,
            trust_new_hosts=trust_new_hosts,
            connect_timeout=connect_timeout,
        )
        self.command_timeout = command_timeout or inventory.ssh.command_timeout
        self.kill_after = kill_after
        #: held in memory only, for ``become`` steps; never journaled, never on argv
        self.sudo_password = sudo_password
        self.sudo = sudo
        self.pool = pool
        self._sessions: dict[tuple[int, str], Connection | None] = {}

    @property
    def connect_timeout(self) -> float:
        return self.settings.connect_timeout

    def connection(self, host: Host) -> Connection:
        """An unopened fabric connection to ``host``, with a config of its own."""
        return self.settings.connection(host)

    # -- one host ------------------------------------------------------------------

    def run(
        self,
        host: Host,
        command: str,
        *,
        timeout: float | None = None,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        become: str | None = None,
    ) -> HostResult:
        """Run ``command`` with ``sh -c`` on ``host``; killed there after ``timeout`` seconds.

        ``stdin`` is fed to the command; ``env`` is exported for it, sent over stdin
        so values (secrets) never appear on a command line. ``become`` runs it as that
        user through sudo.
        """
        limit = timeout or self.command_timeout
        started = time.monotonic()
        password = self.sudo_password if become else None
        try:
            feed = _stdin_for(env or {}, stdin, password)
        except ValueError as exc:
            return self._failed(host, Failure("error", str(exc)), started, None)
        line = self.wrap(command, limit, with_env=bool(env), become=become)
        try:
            try:
                return self._command(host, line, feed, limit, started, reuse=True)
            except _Stale:  # a kept connection had died while idle: nothing was sent
                return self._command(host, line, feed, limit, started, reuse=False)
        except Failure as failure:
            return self._failed(host, failure, started, failure.trusted)

    def _command(
        self, host: Host, line: str, feed: str | None, limit: float, started: float, reuse: bool
    ) -> HostResult:
        with self._connected(host, reuse=reuse) as (conn, trusted, kept):
            try:
                result = conn.run(
                    line,
                    hide=True,
                    warn=True,
                    pty=False,
                    in_stream=False if feed is None else io.StringIO(feed),
                    timeout=limit + self.kill_after + 10,
                )
            except ChannelRefused as exc:
                if kept and reuse:
                    raise _Stale from None
                raise Failure(
                    "disconnected", f"connection to {host.target} lost: {exc}", trusted
                ) from None
            except CommandTimedOut as exc:
                self._drop(host, conn)  # it may be the connection that hung: not kept
                return self._timed_out(host, limit, started, exc.result, trusted)
            except (OSError, EOFError, paramiko.SSHException) as exc:
                raise Failure(
                    "disconnected", f"connection to {host.target} lost: {exc}", trusted
                ) from None
        return self._finished(host, limit, started, result, trusted)

    def probe(self, host: Host) -> HostResult:
        """Connect to ``host`` and run ``true`` there, within the connect timeout."""
        return self.run(host, "true", timeout=self.connect_timeout)

    def wrap(
        self, command: str, limit: float, *, with_env: bool = False, become: str | None = None
    ) -> str:
        """The text sent to the host: ``command`` under ``timeout``, in a shell of its own.

        ``timeout`` signals the command's whole process group, TERM and then KILL
        after ``kill_after`` seconds. The outer ``sh`` is not replaced by ``timeout``
        (it has more to do after it), so it survives that KILL and reports 124 or
        137 as an exit status rather than the session ending on a signal.
        """
        asked = bool(become and self.sudo_password is not None)
        script = (_SKIP_PASSWORD if asked else "") + (_ENV_PRELUDE if with_env or asked else "")
        shell = f"sh -c {shlex.quote(script + command)}"
        if become:
            how = "-k -S -p ''" if asked else "-n"
            shell = f"{shlex.quote(self.sudo)} {how} -u {shlex.quote(become)} -- {shell}"
        inner = f"timeout -k {self.kill_after:g} {limit:g} {shell}"
        return f"sh -c {shlex.quote(inner + '; exit $?')}"

    def put(self, host: Host, local: str | Path, remote: str) -> HostResult:
        """Copy the local file ``local`` to ``remote`` on ``host`` over SFTP."""
        size = Path(local).stat().st_size if Path(local).is_file() else None
        if size is None:
            failure = Failure("transfer", f"local file {local} does not exist")
            return self._failed(host, failure, time.monotonic(), None)
        return self._transfer(host, "put", str(local), remote, f"uploaded {size} bytes to {remote}")

    def get(self, host: Host, remote: str, local: str | Path) -> HostResult:
        """Copy ``remote`` on ``host`` to the local path ``local`` over SFTP."""
        Path(local).parent.mkdir(parents=True, exist_ok=True)
        return self._transfer(host, "get", remote, str(local), f"downloaded {remote} to {local}")

    def _transfer(self, host: Host, verb: str, source: str, dest: str, note: str) -> HostResult:
        started = time.monotonic()
        try:
            try:
                trusted = self._copy(host, verb, source, dest, reuse=True)
            except _Stale:  # a kept connection had died while idle: nothing was copied
                trusted = self._copy(host, verb, source, dest, reuse=False)
        except Failure as failure:
            return self._failed(host, failure, started, failure.trusted)
        duration = time.monotonic() - started
        return HostResult(host.name, "ok", 0, duration, stdout_tail=note, trusted_key=trusted)

    def _copy(self, host: Host, verb: str, source: str, dest: str, reuse: bool) -> str | None:
        with self._connected(host, reuse=reuse) as (conn, trusted, kept):
            try:
                sftp = conn.sftp()  # one SFTP channel per connection, kept with it
            except (OSError, EOFError, paramiko.SSHException) as exc:
                if kept and reuse:
                    raise _Stale from None
                raise Failure(
                    "transfer", f"cannot open SFTP on {host.name}: {exc}", trusted
                ) from None
            try:
                sftp.get_channel().settimeout(self.command_timeout)
                if verb == "put":
                    conn.put(source, remote=dest)
                else:
                    conn.get(source, local=dest)
            except (OSError, EOFError, paramiko.SSHException) as exc:
                what = "upload to" if verb == "put" else "download from"
                raise Failure("transfer", f"{what} {host.name} failed: {exc}", trusted) from None
        return trusted

    # -- connecting ----------------------------------------------------------------

    @contextmanager
    def session(self, host: Host) -> Iterator[None]:
        """Keep one connection to ``host`` for the calls this thread makes in the block.

        Saves a handshake per call when a task runs several commands and transfers on
        one host. A call that fails on a broken connection drops it; the next reopens.
        """
        key = (threading.get_ident(), host.name)
        self._sessions[key] = None
        try:
            yield
        finally:
            held = self._sessions.pop(key, None)
            if held is not None:
                self._release(host, held)

    @contextmanager
    def _connected(
        self, host: Host, *, reuse: bool = True
    ) -> Iterator[tuple[Connection, str | None, bool]]:
        """A connection to ``host``: the session's, else the pool's, else a new one.

        Yields it with the key trusted on the way (a new one only) and whether it was
        kept from an earlier call (so may have died idle). ``reuse=False`` opens a new
        one. A call that raises drops its connection; one that went through gives it
        back (to the session, else the pool, else it is closed).
        """
        key = (threading.get_ident(), host.name)
        conn: Connection | None = self._sessions.get(key) if reuse else None
        if conn is None and reuse and self.pool is not None:
            conn = self.pool.take(host)
            if conn is not None and not self.settings.still_trusted(conn):
                conn.close()  # known_hosts changed since it connected: check again
                conn = None
        kept, trusted = conn is not None, None
        if conn is None:
            conn, trusted = self.settings.open(host)
        if key in self._sessions:
            self._sessions[key] = conn
        try:
            yield conn, trusted, kept
        except BaseException:
            self._drop(host, conn)
            raise
        if key not in self._sessions:
            self._release(host, conn)

    def _release(self, host: Host, conn: Connection) -> None:
        if self.pool is not None:
            self.pool.give(host, conn)
        else:
            conn.close()

    def _drop(self, host: Host, conn: Connection) -> None:
        """Close ``conn`` for good: the session opens a new one on its next call."""
        key = (threading.get_ident(), host.name)
        if self._sessions.get(key) is conn:
            self._sessions[key] = None
        conn.close()

    # -- results -------------------------------------------------------------------

    def _finished(
        self, host: Host, limit: float, started: float, result: Any, trusted: str | None
    ) -> HostResult:
        duration = time.monotonic() - started
        code = int(result.exited)
        if code == -1:
            lost = Failure(
                "disconnected",
                f"connection to {host.target} was lost before the command finished "
                f"(host down or sshd killed)",
            )
            return self._failed(host, lost, started, trusted, result.stdout, result.stderr)
        if code in (124, 137) and duration >= limit:
            return self._timed_out(host, limit, started, result, trusted)
        return HostResult(
            host.name,
            "ok" if code == 0 else "failed",
            exit_code=code,
            duration=duration,
            stdout_tail=tail(result.stdout),
            stderr_tail=tail(result.stderr),
            error=None if code == 0 else f"exit code {code} on {host.name}",
            error_kind=None if code == 0 else "exit",
            trusted_key=trusted,
            stdout=result.stdout,
        )

    def _failed(
        self,
        host: Host,
        failure: Failure,
        started: float,
        trusted: str | None,
        stdout: str = "",
        stderr: str = "",
    ) -> HostResult:
        return HostResult(
            host.name,
            "failed",
            duration=time.monotonic() - started,
            stdout_tail=tail(stdout),
            stderr_tail=tail(stderr),
            error=str(failure),
            error_kind=failure.kind,
            trusted_key=trusted,
            stdout=stdout,
        )

    def _timed_out(
        self, host: Host, limit: float, started: float, result: Any, trusted: str | None
    ) -> HostResult:
        stdout = getattr(result, "stdout", "") or ""
        return HostResult(
            host.name,
            "failed",
            exit_code=None if result is None else int(result.exited),
            duration=time.monotonic() - started,
            stdout_tail=tail(stdout),
            stderr_tail=tail(getattr(result, "stderr", "") or ""),
            error=f"timed out after {limit:g}s on {host.name}; the remote command was killed",
            error_kind="timeout",
            timed_out=True,
            trusted_key=trusted,
            stdout=stdout,
        )


class _Stale(Exception):
    """A kept connection could not open a channel: nothing was sent; open a new one."""


def _stdin_for(
    env: Mapping[str, str], stdin: str | None, password: str | None = None
) -> str | None:
    """What to send on stdin: a sudo password and the marker (if any), the env block the
    prelude reads (if any), then ``stdin``."""
    lines: list[str] = []
    if password is not None:
        if "\n" in password or "\r" in password:
            raise ValueError("the sudo password holds a line break, which sudo cannot read")
        lines += [password, _MARKER]
    elif not env:
        return stdin
    if not env:
        return "\n".join(lines) + "\n\n" + (stdin or "")
    for name, value in env.items():
        if not _ENV_NAME.match(name):
            raise ValueError(f"environment variable name {name!r} is not a plain name")
        if "\x00" in value:
            raise ValueError(f"environment variable {name} holds a NUL byte")
        lines += [name, "".join(f"\\0{byte:03o}" for byte in value.encode())]
    return "\n".join(lines) + "\n\n" + (stdin or "")
