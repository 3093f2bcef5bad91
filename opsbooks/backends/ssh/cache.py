"""What every connection of a run reads and nothing changes behind its back, read once.

Per host, a connection used to parse the ssh config files, parse known_hosts (a line
per host: O(hosts) per connection, O(hosts^2) per fan-out) and load the key file,
trying three key types in turn. Shared by the connections of one ``ConnectSettings``
(one remote step's executor), so a fan-out over 50 hosts does each once.
"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import paramiko

from opsbooks.backends.ssh.known_hosts import KnownHosts


class ConnectCache:
    """What every connection of a run reads and nothing changes behind its back: the
    parsed ssh config, known_hosts (parsed again only when the file changes, as trusting
    a new host does), each key file loaded once. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ssh: paramiko.SSHConfig | None = None
        self._known: tuple[tuple[int, int, int] | None, KnownHosts] | None = None
        self._keys: dict[str, paramiko.PKey | None] = {}

    def ssh_config(self, texts: tuple[str, ...]) -> paramiko.SSHConfig:
        """The ssh config files parsed once, each host looked up once (see ``_Lookups``)."""
        with self._lock:
            if self._ssh is None:
                parsed = _Lookups()
                for text in texts:
                    parsed.parse(io.StringIO(text))
                self._ssh = parsed
            return self._ssh

    def known_hosts(self, path: Path) -> KnownHosts:
        """``path`` parsed, again only when its inode, size or mtime changed."""
        try:
            st = path.stat()
            stamp: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None
        with self._lock:
            if self._known is not None and stamp is not None and self._known[0] == stamp:
                return self._known[1]
        known = KnownHosts.read(path)
        with self._lock:
            self._known = (stamp, known)
        return known

    def key(self, path: str) -> paramiko.PKey | None:
        """The private key in ``path`` (with its ``-cert.pub``), loaded once; None when it
        cannot be loaded without help (a passphrase): paramiko then tries the file itself,
        agent and all, as before."""
        with self._lock:
            if path in self._keys:
                return self._keys[path]
        try:
            key: paramiko.PKey | None = paramiko.PKey.from_path(path)
            cert = f"{path}-cert.pub"
            if key is not None and os.path.isfile(cert):
                key.load_certificate(cert)
        except (OSError, ValueError, paramiko.SSHException, paramiko.pkey.UnknownKeyType):
            key = None
        with self._lock:
            self._keys[path] = key
        return key


class _Lookups(paramiko.SSHConfig):  # type: ignore[misc]
    """An ssh config whose answer for a host is worked out once, then copied.

    paramiko expands every value's tokens on every lookup, asking the password
    database for the local user and the system for the host name each time (``%u``,
    ``%L``...); a connection looked its host up three times (jump hosts, fabric's own
    ``Connection``): 15 expansions per host with the stock ``/etc/ssh/ssh_config``.
    Nothing a lookup depends on changes during a run.
    """

    def __init__(self) -> None:
        super().__init__()
        self._answers: dict[str, paramiko.SSHConfigDict] = {}
        self._answers_lock = threading.Lock()

    def lookup(self, hostname: str) -> paramiko.SSHConfigDict:
        with self._answers_lock:
            found = self._answers.get(hostname)
        if found is None:
            found = super().lookup(hostname)
            with self._answers_lock:
                self._answers[hostname] = found
        return paramiko.SSHConfigDict({k: _copy(v) for k, v in found.items()})


def _copy(value: object) -> object:
    return list(value) if isinstance(value, list) else value
