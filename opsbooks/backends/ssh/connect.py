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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
from fabric import Config as FabricConfig
from fabric import Connection
from fabric.runners import Remote

from opsbooks.backends.hosts.inventory import Host, Inventory
from opsbooks.backends.ssh.checks import Failure, RejectUnknown, TrustAndRecord, classify
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


@dataclass(frozen=True)
class ConnectSettings:
    """How to reach hosts: immutable, so any number of threads may connect at once."""

    known_hosts: Path
    trust_new_hosts: bool
    connect_timeout: float
    use_agent: bool
    #: the ssh config files' text, in lookup order (first value found wins)
    ssh_configs: tuple[str, ...] = ()

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
        ``/etc/ssh/ssh_config`` where they exist, as ``ssh`` does.
        """
        ssh = inventory.ssh
        return cls(
            known_hosts=Path(known_hosts or ssh.known_hosts).expanduser(),
            trust_new_hosts=ssh.trust_new_hosts if trust_new_hosts is None else trust_new_hosts,
            connect_timeout=connect_timeout or ssh.connect_timeout,
            use_agent=ssh.use_agent,
            ssh_configs=_read_ssh_configs(ssh.ssh_config),
        )

    def fabric_config(self) -> FabricConfig:
        """A new fabric config, owned by the one connection it is made for."""
        parsed = paramiko.SSHConfig()
        for text in self.ssh_configs:
            parsed.parse(io.StringIO(text))
        return FabricConfig(
            ssh_config=parsed, lazy=True, overrides={"runners": {"remote": _Runner}}
        )

    def connection(self, host: Host) -> Connection:
        """An unopened connection to ``host`` with its own config; safe from any thread."""
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
            connect_kwargs["key_filename"] = [host.key_file]
        conn = Connection(
            host.address,
            port=host.port,
            user=host.user,
            config=self.fabric_config(),
            connect_kwargs=connect_kwargs,
        )
        conn.connect_timeout = None  # fabric truncates it to whole seconds; use the kwargs
        return conn

    def open(self, host: Host) -> tuple[Connection, str | None]:
        """An open connection to ``host`` and the key trusted on the way, if any.

        Raises ``Failure`` (classified, with the trusted key) when it cannot connect.
        """
        if host.key_file and not Path(host.key_file).is_file():
            raise Failure("keyfile", f"key file {host.key_file} for {host.name} does not exist")
        try:
            conn = self.connection(host)
        except (ValueError, OSError, paramiko.SSHException) as exc:
            raise Failure("error", f"cannot set up a connection to {host.target}: {exc}") from None
        policy = self._policy(conn.client)
        try:
            conn.open()
        except Exception as exc:
            conn.close()
            failure = classify(host, exc, self.known_hosts, self.connect_timeout)
            failure.trusted = policy.trusted if isinstance(policy, TrustAndRecord) else None
            raise failure from None
        trusted = policy.trusted if isinstance(policy, TrustAndRecord) else None
        return conn, trusted

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
