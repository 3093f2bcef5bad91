"""SSH trust and failure words: host-key policies, and what went wrong in plain words.

Unknown keys are refused unless trusting is switched on, and every key trusted that
way is saved and reported. ``classify`` turns what paramiko and the socket layer
raise into a reason an operator can act on at 3 a.m.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
import socket
import threading
from pathlib import Path

import paramiko

from opsbooks.backends.hosts.inventory import Host
from opsbooks.backends.rollout import ErrorKind
from opsbooks.backends.ssh.known_hosts import KnownHostLine, KnownHosts

_KNOWN_HOSTS_LOCK = threading.Lock()


class HostKeyProblem(paramiko.SSHException):  # type: ignore[misc]
    """Carries an unknown host key out of paramiko's connect.

    ``authority`` is the ``@cert-authority`` line that covers the host, if one does:
    the host probably presents a certificate, which opsbooks cannot verify.
    """

    def __init__(
        self, name: str, key: paramiko.PKey, authority: KnownHostLine | None = None
    ) -> None:
        self.name = name
        self.key = key
        self.authority = authority
        super().__init__(f"unknown host key for {name}")


class HostKeyRevoked(HostKeyProblem):
    """The presented key is on an ``@revoked`` line for the host: never accepted."""

    def __init__(self, name: str, key: paramiko.PKey, line: KnownHostLine) -> None:
        super().__init__(name, key)
        self.line = line


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's ``SHA256:...`` fingerprint, as ``ssh-keygen -lf`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def refuse_revoked(known: KnownHosts | None, hostname: str, key: paramiko.PKey) -> None:
    """Raise ``HostKeyRevoked`` if ``known`` marks ``key`` as revoked for ``hostname``."""
    line = known.revoked(hostname, key.get_name(), key.asbytes()) if known else None
    if line is not None:
        raise HostKeyRevoked(hostname, key, line)


class RejectUnknown(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Refuse a host whose key is not in known_hosts (what ``StrictHostKeyChecking=yes`` does)."""

    def __init__(self, known: KnownHosts | None = None) -> None:
        self.known = known

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        refuse_revoked(self.known, hostname, key)
        authority = self.known.authority_for(hostname) if self.known else None
        raise HostKeyProblem(hostname, key, authority)


class TrustAndRecord(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
    """Accept a new host key, append it to known_hosts and remember that we did.

    A revoked key is refused all the same: trusting new keys is not trusting those.
    """

    def __init__(self, known_hosts: Path, known: KnownHosts | None = None) -> None:
        self.known_hosts = known_hosts
        self.known = known
        self.trusted: str | None = None

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        refuse_revoked(self.known, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        with _KNOWN_HOSTS_LOCK:
            self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
            with self.known_hosts.open("a") as handle:
                handle.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        self.trusted = f"{key.get_name()} {fingerprint(key)}"


class Failure(Exception):
    """A classified per-host failure on the way to a ``HostResult``."""

    def __init__(self, kind: ErrorKind, message: str, trusted: str | None = None) -> None:
        self.kind = kind
        self.trusted = trusted
        super().__init__(message)


def classify(host: Host, exc: Exception, known: Path, connect_timeout: float) -> Failure:
    """Turn what paramiko and the socket layer raise into a reason an operator can act on."""
    for reason in (_key_failure, _login_failure, _network_failure):
        failure = reason(host, exc, known, connect_timeout)
        if failure is not None:
            return failure
    where = host.target
    return Failure("error", f"connecting to {where} failed: {type(exc).__name__}: {exc}")


def _key_failure(host: Host, exc: Exception, known: Path, _timeout: float) -> Failure | None:
    where = host.target
    if isinstance(exc, HostKeyRevoked):
        return Failure(
            "hostkey",
            f"key {exc.key.get_name()} {fingerprint(exc.key)} of {host.name} ({where}) is "
            f"marked @revoked in known_hosts line {exc.line.number} ({known}); refused. "
            f"Find out why the host presents a revoked key; once it has a new one, remove "
            f"the old entries (ssh-keygen -R {shlex.quote(exc.name)} -f {known}) and add it",
        )
    if isinstance(exc, HostKeyProblem) and exc.authority is not None:
        return Failure(
            "unknown_hostkey",
            f"host key of {where} ({exc.key.get_name()} {fingerprint(exc.key)}) is covered "
            f"only by the @cert-authority line {exc.authority.number} of {known}, and host "
            f"certificates are not supported; add the host's key to known_hosts after "
            f"checking its fingerprint (ssh-keyscan -p {host.port or 22} {host.address} "
            f">> {known})",
        )
    if isinstance(exc, HostKeyProblem):
        return Failure(
            "unknown_hostkey",
            f"host key of {where} ({exc.key.get_name()} {fingerprint(exc.key)}) is not in "
            f"{known}; check the fingerprint out of band, then add it (ssh-keyscan -p "
            f"{host.port or 22} {host.address} >> {known}) or set trust_new_hosts = true once",
        )
    if isinstance(exc, paramiko.BadHostKeyException):
        return Failure(
            "hostkey",
            f"host key of {where} does not match {known}: expected "
            f"{fingerprint(exc.expected_key)}, got {fingerprint(exc.key)}. This may be an "
            f"attack; if the host was rebuilt, remove the old entry with "
            f"ssh-keygen -R {shlex.quote(str(exc.hostname))} -f {known}",
        )
    return None


def _login_failure(host: Host, exc: Exception, _known: Path, _timeout: float) -> Failure | None:
    where = host.target
    if isinstance(exc, paramiko.SSHException) and "No authentication methods" in str(exc):
        return Failure(
            "auth",
            f"no key to log in to {where} with: set key_file for the host, or load a key "
            f"into ssh-agent (use_agent = true)",
        )
    if isinstance(exc, paramiko.AuthenticationException):
        how = f"key {host.key_file}" if host.key_file else "the agent or default keys"
        return Failure(
            "auth",
            f"authentication failed for {where} with {how} ({exc}); is the public key in "
            f"that user's authorized_keys?",
        )
    return None


def _network_failure(host: Host, exc: Exception, _known: Path, timeout: float) -> Failure | None:
    where = host.target
    if isinstance(exc, socket.gaierror):
        return Failure("connect", f"cannot resolve {host.address}: {exc.strerror}")
    if isinstance(exc, TimeoutError | socket.timeout):
        return Failure("connect", f"cannot connect to {where}: no answer within {timeout:g}s")
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return Failure("connect", f"cannot connect to {where}: connection refused")
    if isinstance(exc, OSError):
        return Failure("connect", f"cannot connect to {where}: {exc.strerror or exc}")
    if isinstance(exc, paramiko.SSHException | EOFError):
        return Failure("ssh", f"SSH handshake with {where} failed: {exc or type(exc).__name__}")
    return None
