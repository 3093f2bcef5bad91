"""Open fabric ``Connection``s to inventory hosts, each with a configuration of its own.

Nothing mutable is shared between connections. fabric's ``Connection.__init__``
writes to the ``Config`` it is given (``inline_ssh_env`` is no real attribute, so
setting it is a config change), and invoke answers every config change by
rebuilding the whole config from an empty dict. A config shared across threads is
therefore briefly empty for the others, which then fail with ``AttributeError``
(``'gateway'``, ``'timeouts'``...). So ``ConnectSettings`` is frozen and holds plain
values (the ssh config files are read once, as text), and every connection gets a
fresh ``fabric.Config`` parsed from them. fabric's and invoke's own config files
(``~/.fabric.yml``...) are not read: the inventory's ``[ssh]`` table is the one
place settings come from.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
from fabric import Config as FabricConfig
from fabric import Connection
from fabric.runners import Remote

from opsbooks.backends.hosts.inventory import Host, Inventory
from opsbooks.backends.ssh.cache import ConnectCache
from opsbooks.backends.ssh.checks import (
    Failure,
    HostKeyRevoked,
    RejectUnknown,
    TrustAndRecord,
    classify,
)
from opsbooks.backends.ssh.known_hosts import lookup_name
from opsbooks.errors import InventoryError

DEFAULT_SSH_CONFIGS = ("~/.ssh/config", "/etc/ssh/ssh_config")


class _Runner(Remote):  # type: ignore[misc]
    """fabric's runner, feeding stdin text in large chunks, not a byte per 10 ms.

    A command that exits before reading all its stdin is no error, as with a closed
    pipe: the input it did not want is dropped; its exit status (or a lost
    connection) is what counts.
    """

    def read_our_stdin(self, input_: Any) -> str | None:
        if isinstance(input_, io.StringIO):  # what the executor sends; invoke reads 1 char
            return input_.read(1 << 16)
        text: str | None = super().read_our_stdin(input_)
        return text

    def _write_proc_stdin(self, data: bytes) -> None:
        with contextlib.suppress(OSError, EOFError):
            super()._write_proc_stdin(data)

    def close_proc_stdin(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            super().close_proc_stdin()

    def start(self, command: str, shell: str, env: dict[str, str], timeout: Any = None) -> None:
        """Open the session channel, then send the command; a refused channel says so.

        A kept connection (``ConnectionPool``) may have died while it sat idle: the
        channel cannot open, nothing was sent, and the caller may reconnect and retry.
        """
        if self.using_pty or env:  # never asked by the executor: fabric's own way
            super().start(command, shell, env, timeout)
            return
        try:
            self.channel = self.context.create_session()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise ChannelRefused(str(exc) or type(exc).__name__) from exc
        self.send_start_message(command)

    def wait(self) -> None:
        """Block until the exit status arrives, not invoke's sleep-and-poll of 10 ms."""
        while not (self.process_is_finished or self.has_dead_threads):
            self.channel.status_event.wait(0.05)


class ChannelRefused(Exception):
    """The connection could not open a session channel: the command was never sent."""


@dataclass(frozen=True)
class ConnectSettings:
    """How to reach hosts: immutable, so any number of threads may connect at once."""

    known_hosts: Path
    trust_new_hosts: bool
    connect_timeout: float
    use_agent: bool
    #: the ssh config files' text, in lookup order (first value found wins)
    ssh_configs: tuple[str, ...] = ()
    #: where the hosts' ``jump`` settings are resolved (their jump hosts' settings)
    inventory: Inventory | None = None
    #: what the connections share, read-only (see ``ConnectCache``)
    cache: ConnectCache = field(default_factory=ConnectCache, compare=False, repr=False)

    @classmethod
    def from_inventory(
        cls,
        inventory: Inventory,
        *,
        known_hosts: str | Path | None = None,
        trust_new_hosts: bool | None = None,
        connect_timeout: float | None = None,
    ) -> ConnectSettings:
        """Settings from the inventory's ``[ssh]`` table; keyword arguments override.

        Reads the ssh config files now: the configured ``ssh_config`` alone (an
        ``InventoryError`` if it is missing), else ``~/.ssh/config`` and
        ``/etc/ssh/ssh_config`` where they exist, as ``ssh`` does. A malformed
        known_hosts line is an ``InventoryError`` now too (it is read again when it
        changes, as trusting a new host does).
        """
        ssh = inventory.ssh
        known = Path(known_hosts or ssh.known_hosts).expanduser()
        cache = ConnectCache()
        cache.known_hosts(known)  # a malformed line is bad input: say so before connecting
        return cls(
            known_hosts=known,
            trust_new_hosts=ssh.trust_new_hosts if trust_new_hosts is None else trust_new_hosts,
            connect_timeout=connect_timeout or ssh.connect_timeout,
            use_agent=ssh.use_agent,
            ssh_configs=_read_ssh_configs(ssh.ssh_config),
            inventory=inventory,
            cache=cache,
        )

    def fabric_config(self) -> FabricConfig:
        """A new fabric config, owned by the one connection it is made for (the parsed
        ssh config in it is shared: fabric only looks hosts up in it)."""
        return FabricConfig(
            ssh_config=self.cache.ssh_config(self.ssh_configs),
            lazy=True,
            overrides={"runners": {"remote": _Runner}},
        )

    def connection(self, host: Host, gateway: Connection | None = None) -> Connection:
        """An unopened connection to ``host`` with its own config; safe from any thread.

        ``gateway`` is the open connection to the jump host to go through. Without
        one, fabric is never left to follow an ssh config ``ProxyJump`` itself: it
        would open the jump with a client of its own that accepts any host key.
        """
        timeout = self.connect_timeout
        connect_kwargs: dict[str, Any] = {
            "allow_agent": self.use_agent,
            "look_for_keys": host.key_file is None,
            "timeout": timeout,
            "banner_timeout": timeout,
            "auth_timeout": timeout,
            "channel_timeout": timeout,
        }
        if host.key_file:
            key = self.cache.key(host.key_file)  # loaded once per run, not per host
            if key is not None:
                connect_kwargs["pkey"] = key
            else:
                connect_kwargs["key_filename"] = [host.key_file]
        config = self.fabric_config()
        jumps = "proxyjump" in config.base_ssh_config.lookup(host.address)
        conn = _Connection(
            host.address,
            port=host.port,
            user=host.user,
            config=config,
            connect_kwargs=connect_kwargs,
            gateway=gateway if gateway is not None else (False if jumps else None),
        )
        conn.connect_timeout = None  # fabric truncates it to whole seconds; use the kwargs
        return conn

    def open(self, host: Host) -> tuple[Connection, str | None]:
        """An open connection to ``host`` and the keys trusted on the way, if any.

        Every jump host on the way (the inventory's ``jump``, else an ssh config
        ``ProxyJump``) is connected to first, its key checked against the same
        known_hosts with the same policy as a direct host's; a failure there names
        the jump host and the target is not contacted. Raises ``Failure``
        (classified, with the keys trusted so far) when it cannot connect.
        """
        hops = self.hops(host)
        for hop in (*hops, host):
            if hop.key_file and not Path(hop.key_file).is_file():
                raise Failure("keyfile", f"key file {hop.key_file} for {hop.name} does not exist")
        trusted: list[str] = []
        gateway: Connection | None = None
        try:
            for hop in hops:
                gateway = self._open_one(hop, gateway, trusted, target=host)
            conn = self._open_one(host, gateway, trusted)
        except Failure as failure:
            failure.trusted = "; ".join(trusted) or None
            raise
        return conn, "; ".join(trusted) or None

    def still_trusted(self, conn: Connection) -> bool:
        """Whether known_hosts, as it is now, still accepts the key each hop of a kept
        connection showed when it connected (a key revoked or replaced since: no).

        A kept connection skips the handshake where the key is checked; a False sends
        the caller to a new connection, which checks it and says why it fails.
        """
        known = self.cache.known_hosts(self.known_hosts)
        hop: Any = conn
        while isinstance(hop, Connection):
            if hop.transport is None:
                return False
            key = hop.transport.get_remote_server_key()
            name, blob = lookup_name(hop.host, hop.port), key.asbytes()
            if not any(line.same_key(key.get_name(), blob) for line in known.keys_for(name)):
                return False
            hop = hop.gateway
        return True

    def hops(self, host: Host) -> tuple[Host, ...]:
        """The jump hosts to ``host``, first to connect to first: the inventory's, else ssh's."""
        if self.inventory is not None and host.jump:
            return self.inventory.jumps_for(host)
        if host.jump:
            return Inventory([host]).jumps_for(host)
        return self._ssh_config_hops(host, depth=0)

    def _ssh_config_hops(self, host: Host, depth: int) -> tuple[Host, ...]:
        """``ProxyJump a,b``: a first (through a's own ProxyJump), then b, as ``ssh -J`` does."""
        value = self.cache.ssh_config(self.ssh_configs).lookup(host.address).get("proxyjump")
        if not value or value.lower() == "none":
            return ()
        hops = tuple(_hop(spec) for spec in value.split(",") if spec.strip())
        hops = tuple(h for h in hops if (h.address, h.port) != (host.address, host.port))
        if not hops:
            return ()
        if depth > 8:
            raise Failure("error", f"ProxyJump for {host.name} loops in the ssh config ({value})")
        return (*self._ssh_config_hops(hops[0], depth + 1), *hops)

    def _open_one(
        self,
        host: Host,
        gateway: Connection | None,
        trusted: list[str],
        target: Host | None = None,
    ) -> Connection:
        """Open one hop; on failure close it (and the hops before it) and classify."""
        jump = f"jump host {host.name} on the way to {target.name}: " if target else ""
        try:
            conn = self.connection(host, gateway)
        except (ValueError, OSError, paramiko.SSHException) as exc:
            if gateway is not None:
                gateway.close()
            raise Failure(
                "error", f"{jump}cannot set up a connection to {host.target}: {exc}"
            ) from None
        try:
            policy = self._policy(conn)
        except Failure:
            conn.close()
            raise
        try:
            conn.open()
        except Exception as exc:
            conn.close()
            failure = self._classify(host, exc, policy, gateway, lookup_name(conn.host, conn.port))
            if isinstance(policy, TrustAndRecord) and policy.trusted:
                trusted.append(policy.trusted + (f" (jump host {host.name})" if target else ""))
            raise Failure(failure.kind, jump + str(failure)) from None
        if isinstance(policy, TrustAndRecord) and policy.trusted:
            trusted.append(policy.trusted + (f" (jump host {host.name})" if target else ""))
        return conn

    def _classify(
        self,
        host: Host,
        exc: Exception,
        policy: paramiko.MissingHostKeyPolicy,
        gateway: Connection | None,
        name: str,
    ) -> Failure:
        """Classify, knowing the name known_hosts knows the host by (``[addr]:port``)."""
        known = getattr(policy, "known", None)
        if isinstance(exc, paramiko.BadHostKeyException):
            line = known.revoked(name, exc.key.get_name(), exc.key.asbytes()) if known else None
            exc = (
                HostKeyRevoked(name, exc.key, line)
                if line is not None
                else paramiko.BadHostKeyException(name, exc.key, exc.expected_key)
            )
        if isinstance(exc, paramiko.ChannelException) and gateway is not None:
            return Failure(
                "connect",
                f"the jump host could not open a connection to {host.target}: {exc}; check "
                f"that it allows TCP forwarding (AllowTcpForwarding) and can reach the host",
            )
        return classify(host, exc, self.known_hosts, self.connect_timeout)

    def _policy(self, conn: Connection) -> paramiko.MissingHostKeyPolicy:
        """Load the keys known for ``conn``'s host (revoked ones left out) and set the policy.

        known_hosts is read by our own parser (paramiko's would drop the ``@revoked``
        and ``@cert-authority`` lines without a word), once per run and again whenever
        the file changes.
        """
        try:
            known = self.cache.known_hosts(self.known_hosts)
        except InventoryError as exc:
            raise Failure("hostkey", str(exc)) from None
        name = lookup_name(conn.host, conn.port)
        keys = conn.client.get_host_keys()
        for line in known.keys_for(name):
            try:
                keys.add(
                    name, line.key_type, paramiko.PKey.from_type_string(line.key_type, line.blob)
                )
            except (paramiko.SSHException, paramiko.pkey.UnknownKeyType, ValueError):
                continue  # a key type paramiko does not know (or cannot read); ssh skips those
        policy: paramiko.MissingHostKeyPolicy = (
            TrustAndRecord(self.known_hosts, known)
            if self.trust_new_hosts
            else RejectUnknown(known)
        )
        conn.client.set_missing_host_key_policy(policy)
        return policy


class _Connection(Connection):  # type: ignore[misc]
    """A fabric connection that also closes the jump host connection it went through."""

    def close(self) -> None:
        super().close()
        if isinstance(self.gateway, Connection):
            self.gateway.close()


def _hop(spec: str) -> Host:
    """A ``ProxyJump`` hop, ``[ssh://][user@]host[:port]``, as a host of its own."""
    spec = spec.strip().removeprefix("ssh://")
    user, _, rest = spec.rpartition("@")
    address, colon, port = rest.partition(":")
    problem = Failure("error", f"cannot read ProxyJump hop {spec!r} in the ssh config")
    if not address or (colon and not port.isdigit()):
        raise problem
    try:
        return Host(
            name=spec, address=address, port=int(port) if colon else None, user=user or None
        )
    except ValueError:  # pydantic's ValidationError: a port out of range
        raise problem from None


def _read_ssh_configs(configured: str | None) -> tuple[str, ...]:
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise InventoryError(
                f"ssh_config file {configured} does not exist",
                fix="create it or fix ssh_config in the ssh table of the opsbooks configuration",
            )
        return (_text(path),)
    found = (Path(p).expanduser() for p in DEFAULT_SSH_CONFIGS)
    return tuple(_text(path) for path in found if path.is_file())


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as exc:
        raise InventoryError(f"cannot read ssh config file {path}: {exc.strerror}") from None
