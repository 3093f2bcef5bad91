"""Run commands and move files on inventory hosts over SSH, through fabric ``Connection``s.

The only module that imports fabric. Host keys are checked against known_hosts and
an unknown or changed key is refused (fabric would accept any); trusting a new key
is an explicit setting and every key trusted that way is saved and reported.
Every command runs as ``timeout -k K T sh -c '<cmd>'`` on the host, so a timed-out
command dies there too; a local deadline a little later backs that up if the
connection itself hangs. Every failure becomes a per-host ``HostResult`` with a
plain reason; nothing here raises for a host that is down, refuses or misbehaves.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paramiko
from fabric import Config as FabricConfig
from fabric import Connection
from invoke.exceptions import CommandTimedOut

from opsbooks.backends.hosts.inventory import Host, Inventory, InventoryError, bind_for_host
from opsbooks.backends.rollout import (
    Attempt,
    BetweenBatches,
    HostResult,
    RolloutOptions,
    RolloutResult,
    roll_out,
    tail,
)
from opsbooks.backends.ssh.checks import (
    Failure,
    RejectUnknown,
    TrustAndRecord,
    classify,
)
from opsbooks.define.steps import Download, Remote, Upload


class RemoteExecutor:
    """Connects to inventory hosts and rolls commands or transfers out over them.

    Settings default to the inventory's ``[ssh]`` table; keyword arguments override.
    Raises ``InventoryError`` at once if the configured ssh config file is missing.
    ``on_start`` / ``on_host`` are called on the calling thread as each host starts
    and finishes, for progress display and journaling.
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
        on_start: Callable[[Host], None] | None = None,
        on_host: Callable[[HostResult], None] | None = None,
    ) -> None:
        ssh = inventory.ssh
        self.inventory = inventory
        self.known_hosts = Path(known_hosts or ssh.known_hosts).expanduser()
        self.trust_new_hosts = ssh.trust_new_hosts if trust_new_hosts is None else trust_new_hosts
        self.connect_timeout = connect_timeout or ssh.connect_timeout
        self.command_timeout = command_timeout or ssh.command_timeout
        self.kill_after = kill_after
        self.on_start = on_start
        self.on_host = on_host
        if ssh.ssh_config and not Path(ssh.ssh_config).is_file():
            raise InventoryError(f"ssh_config file {ssh.ssh_config} does not exist; fix [ssh]")
        self._fabric_config = FabricConfig(runtime_ssh_path=ssh.ssh_config)
        self._sessions: dict[tuple[int, str], Connection | None] = {}

    # -- roll-outs -----------------------------------------------------------------

    def rollout(
        self,
        hosts: Sequence[Host],
        command_for_host: Callable[[Host], str],
        options: RolloutOptions | None = None,
        *,
        between_batches: BetweenBatches | None = None,
        skip_hosts: Collection[str] = (),
        on_start: Callable[[Host], None] | None = None,
        on_host: Callable[[HostResult], None] | None = None,
    ) -> RolloutResult:
        """Run ``command_for_host(host)`` on each host as ``options`` say; see ``roll_out``."""
        options = options or RolloutOptions()
        timeout = options.timeout or self.command_timeout

        def attempt(host: Host) -> HostResult:
            return self.run(host, command_for_host(host), timeout=timeout)

        return self.rollout_with(
            hosts,
            attempt,
            options,
            between_batches=between_batches,
            skip_hosts=skip_hosts,
            on_start=on_start,
            on_host=on_host,
        )

    def rollout_with(
        self,
        hosts: Sequence[Host],
        attempt: Attempt,
        options: RolloutOptions,
        *,
        between_batches: BetweenBatches | None = None,
        skip_hosts: Collection[str] = (),
        on_start: Callable[[Host], None] | None = None,
        on_host: Callable[[HostResult], None] | None = None,
    ) -> RolloutResult:
        """Roll any per-host action out, e.g. ``lambda h: executor.upload(h, src, dst)``."""
        return roll_out(
            hosts,
            attempt,
            options,
            skip_hosts=skip_hosts,
            between_batches=between_batches,
            on_start=on_start or self.on_start,
            on_host=on_host or self.on_host,
        )

    def action_for(self, step: Remote, values: Mapping[str, Any] | None = None) -> Attempt:
        """What a ``Remote``, ``Upload`` or ``Download`` step does on one host.

        Binds the step's templates per host from ``values`` (the params) in one pass;
        hand the result to ``rollout_with``.
        """
        timeout = step.timeout_seconds or self.command_timeout

        def path(template: str, host: Host) -> str:
            return bind_for_host(template, host, values, shell=False)

        if isinstance(step, Upload):
            return lambda h: self.upload(h, path(step.local, h), path(step.remote, h))
        if isinstance(step, Download):
            return lambda h: self.download(h, path(step.remote, h), path(step.local, h))
        return lambda h: self.run(h, bind_for_host(step.command, h, values), timeout=timeout)

    # -- one host ------------------------------------------------------------------

    def run(self, host: Host, command: str, *, timeout: float | None = None) -> HostResult:
        """Run ``command`` with ``sh -c`` on ``host``; killed there after ``timeout`` seconds."""
        limit = timeout or self.command_timeout
        started = time.monotonic()
        trusted: str | None = None
        try:
            with self._connected(host) as (conn, trusted):
                try:
                    result = conn.run(
                        self.wrap(command, limit),
                        hide=True,
                        warn=True,
                        pty=False,
                        in_stream=False,
                        timeout=limit + self.kill_after + 10,
                    )
                except CommandTimedOut as exc:
                    return self._timed_out(host, limit, started, exc.result, trusted)
                except (OSError, EOFError, paramiko.SSHException) as exc:
                    raise Failure(
                        "disconnected", f"connection to {host.target} lost: {exc}"
                    ) from None
        except Failure as failure:
            return self._failed(host, failure, started, failure.trusted or trusted)
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
        )

    def wrap(self, command: str, limit: float) -> str:
        """The text sent to the host: ``command`` under ``timeout``, in a shell of its own.

        ``timeout`` signals the command's whole process group, TERM and then KILL
        after ``kill_after`` seconds. The outer ``sh`` is not replaced by ``timeout``
        (it has more to do after it), so it survives that KILL and reports 124 or
        137 as an exit status rather than the session ending on a signal.
        """
        inner = f"timeout -k {self.kill_after:g} {limit:g} sh -c {shlex.quote(command)}"
        return f"sh -c {shlex.quote(inner + '; exit $?')}"

    def upload(self, host: Host, local: str | Path, remote: str) -> HostResult:
        """Copy the local file ``local`` to ``remote`` on ``host`` over SFTP."""
        size = Path(local).stat().st_size if Path(local).is_file() else None
        if size is None:
            failure = Failure("transfer", f"local file {local} does not exist")
            return self._failed(host, failure, time.monotonic(), None)
        return self._transfer(host, "put", str(local), remote, f"uploaded {size} bytes to {remote}")

    def download(self, host: Host, remote: str, local: str | Path) -> HostResult:
        """Copy ``remote`` on ``host`` to the local path ``local`` over SFTP."""
        Path(local).parent.mkdir(parents=True, exist_ok=True)
        return self._transfer(host, "get", remote, str(local), f"downloaded {remote} to {local}")

    def _transfer(self, host: Host, verb: str, source: str, dest: str, note: str) -> HostResult:
        started = time.monotonic()
        trusted: str | None = None
        try:
            with self._connected(host) as (conn, trusted):
                try:
                    conn.sftp().get_channel().settimeout(self.command_timeout)
                    if verb == "put":
                        conn.put(source, remote=dest)
                    else:
                        conn.get(source, local=dest)
                except (OSError, EOFError, paramiko.SSHException) as exc:
                    what = "upload to" if verb == "put" else "download from"
                    raise Failure("transfer", f"{what} {host.name} failed: {exc}") from None
        except Failure as failure:
            return self._failed(host, failure, started, failure.trusted or trusted)
        duration = time.monotonic() - started
        return HostResult(host.name, "ok", 0, duration, stdout_tail=note, trusted_key=trusted)

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
                held.close()

    @contextmanager
    def _connected(self, host: Host) -> Iterator[tuple[Connection, str | None]]:
        """The session's connection to ``host`` if one is kept, else one for this call."""
        key = (threading.get_ident(), host.name)
        if key not in self._sessions:
            conn, trusted = self._open(host)
            try:
                yield conn, trusted
            finally:
                conn.close()
            return
        held, trusted = self._sessions[key], None
        if held is None:
            held, trusted = self._open(host)
            self._sessions[key] = held
        try:
            yield held, trusted
        except BaseException:
            self._sessions[key] = None
            held.close()
            raise

    def _open(self, host: Host) -> tuple[Connection, str | None]:
        """An open connection to ``host`` and the key trusted on the way, if any."""
        if host.key_file and not Path(host.key_file).is_file():
            raise Failure("keyfile", f"key file {host.key_file} for {host.name} does not exist")
        timeout = self.connect_timeout
        connect_kwargs: dict[str, Any] = {
            "allow_agent": self.inventory.ssh.use_agent,
            "look_for_keys": host.key_file is None,
            "timeout": timeout,
            "banner_timeout": timeout,
            "auth_timeout": timeout,
            "channel_timeout": timeout,
        }
        if host.key_file:
            connect_kwargs["key_filename"] = [host.key_file]
        conn = Connection(
            host.address,
            port=host.port,
            user=host.user,
            config=self._fabric_config,
            connect_kwargs=connect_kwargs,
        )
        conn.connect_timeout = None  # fabric truncates it to whole seconds; use the kwarg
        policy = self._policy(conn.client)
        try:
            conn.open()
        except Exception as exc:
            conn.close()
            failure = classify(host, exc, self.known_hosts, self.connect_timeout)
            failure.trusted = getattr(policy, "trusted", None)
            raise failure from None
        return conn, getattr(policy, "trusted", None)

    def _policy(self, client: paramiko.SSHClient) -> paramiko.MissingHostKeyPolicy:
        if self.known_hosts.is_file():
            try:
                client.get_host_keys().load(str(self.known_hosts))
            except (OSError, paramiko.SSHException) as exc:
                raise Failure("hostkey", f"cannot read {self.known_hosts}: {exc}") from None
        policy: paramiko.MissingHostKeyPolicy = (
            TrustAndRecord(self.known_hosts) if self.trust_new_hosts else RejectUnknown()
        )
        client.set_missing_host_key_policy(policy)
        return policy

    # -- results -------------------------------------------------------------------

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
        )

    def _timed_out(
        self, host: Host, limit: float, started: float, result: Any, trusted: str | None
    ) -> HostResult:
        return HostResult(
            host.name,
            "failed",
            exit_code=None if result is None else int(result.exited),
            duration=time.monotonic() - started,
            stdout_tail=tail(getattr(result, "stdout", "") or ""),
            stderr_tail=tail(getattr(result, "stderr", "") or ""),
            error=f"timed out after {limit:g}s on {host.name}; the remote command was killed",
            error_kind="timeout",
            timed_out=True,
            trusted_key=trusted,
        )
