"""Real ``sshd`` servers on 127.0.0.1 for testing remote steps without mocking SSH.

``sshd_hosts(tmp_path, count=3)`` starts one OpenSSH server per host, each on its own
free port with its own host key, all accepting one generated client key for the
current user, and writes a ``known_hosts`` file for them. ``kill(name)`` takes a
host down the way a crash would: the listener, every session and every command it
started die at once. Needs ``/usr/sbin/sshd`` and ``ssh-keygen`` (Debian's
``openssh-server``); as root it creates sshd's privilege-separation directory.
Sessions get ``HOME`` set to a directory of the host's own (``SshdHost.home``), so
the test machine's dotfiles stay out of the commands' way.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")


class SshdError(RuntimeError):
    """A test sshd could not be started; the message carries its log."""


@dataclass(frozen=True)
class SshdHost:
    """One running test server and how to reach it."""

    name: str
    address: str
    port: int
    user: str
    key_file: Path
    host_key_line: str
    pid: int
    log_file: Path
    home: Path


@dataclass
class SshdCluster:
    """Running test servers, their shared client key and their ``known_hosts`` file."""

    root: Path
    client_key: Path
    known_hosts: Path
    hosts: list[SshdHost] = field(default_factory=list)
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, repr=False)

    def host(self, name: str) -> SshdHost:
        for candidate in self.hosts:
            if candidate.name == name:
                return candidate
        raise KeyError(f"no test host {name!r}; hosts: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.hosts]

    def inventory_config(
        self,
        *,
        roles: Mapping[str, Sequence[str]] | Sequence[str] = ("all",),
        host_vars: Mapping[str, Mapping[str, str]] | None = None,
        connect_timeout: float = 5.0,
        command_timeout: float = 60.0,
        trust_new_hosts: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """Return ``{"hosts": ..., "ssh": ...}`` shaped like ``Config.hosts`` / ``Config.ssh``.

        ``roles`` is either the roles every host has, or a mapping host name -> roles.
        """
        hosts: dict[str, Any] = {}
        for host in self.hosts:
            these = roles.get(host.name, ()) if isinstance(roles, Mapping) else roles
            hosts[host.name] = {
                "address": host.address,
                "port": host.port,
                "user": host.user,
                "key_file": str(host.key_file),
                "roles": list(these),
                "vars": dict((host_vars or {}).get(host.name, {})),
            }
        ssh = {
            "known_hosts": str(self.known_hosts),
            "connect_timeout": connect_timeout,
            "command_timeout": command_timeout,
            "trust_new_hosts": trust_new_hosts,
            "use_agent": False,
        }
        return {"hosts": hosts, "ssh": ssh}

    def is_alive(self, name: str) -> bool:
        return self._procs[name].poll() is None

    def kill(self, name: str) -> None:
        """Crash host ``name``: SIGKILL its sshd and everything its sessions started."""
        proc = self._procs[name]
        _kill_tree(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)

    def stop(self) -> None:
        """Stop every server and its sessions: TERM first so shells can clean up, then KILL."""
        live = [proc for proc in self._procs.values() if proc.poll() is None]
        doomed = [pid for proc in live for pid in _descendants(proc.pid)]
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 2
        for proc in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
        while any(_running(pid) for pid in doomed) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for proc in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


@contextlib.contextmanager
def sshd_hosts(
    tmpdir: Path | str,
    count: int = 3,
    *,
    names: Sequence[str] | None = None,
    user: str | None = None,
    start_timeout: float = 10.0,
) -> Iterator[SshdCluster]:
    """Start ``count`` sshd servers on 127.0.0.1 under ``tmpdir``; stop them on exit."""
    names = list(names) if names is not None else [f"host{i + 1}" for i in range(count)]
    root = Path(tmpdir) / "sshd"
    root.mkdir(parents=True, exist_ok=True)
    _prepare_privsep()
    client_key = root / "client_ed25519"
    _keygen(client_key, comment="opsbooks-test-client")
    authorized = root / "authorized_keys"
    authorized.write_text(client_key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    cluster = SshdCluster(root=root, client_key=client_key, known_hosts=root / "known_hosts")
    login = user or getpass.getuser()
    try:
        for name in names:
            cluster.hosts.append(_start(cluster, name, login, authorized, start_timeout))
        cluster.known_hosts.write_text(
            "".join(f"[{h.address}]:{h.port} {h.host_key_line}\n" for h in cluster.hosts)
        )
        yield cluster
    finally:
        cluster.stop()


def _start(
    cluster: SshdCluster, name: str, user: str, authorized: Path, start_timeout: float
) -> SshdHost:
    folder = cluster.root / name
    folder.mkdir(exist_ok=True)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    host_key = folder / "host_ed25519"
    _keygen(host_key, comment=f"opsbooks-test-{name}")
    public = host_key.with_suffix(".pub").read_text().split()
    last_error = ""
    for _ in range(3):  # a free port can be taken between probing and binding
        port = _free_port()
        config = folder / "sshd_config"
        config.write_text(_sshd_config(port, host_key, authorized, folder, user, home))
        log = folder / "sshd.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if _wait_for_banner(proc, port, start_timeout):
            cluster._procs[name] = proc
            return SshdHost(
                name=name,
                address="127.0.0.1",
                port=port,
                user=user,
                key_file=cluster.client_key,
                host_key_line=f"{public[0]} {public[1]}",
                pid=proc.pid,
                log_file=log,
                home=home,
            )
        _kill_tree(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        last_error = log.read_text(errors="replace")
    raise SshdError(f"sshd for test host {name!r} did not start:\n{last_error}")


def _sshd_config(
    port: int, host_key: Path, authorized: Path, folder: Path, user: str, home: Path
) -> str:
    lines = [
        "ListenAddress 127.0.0.1",
        f"Port {port}",
        f"HostKey {host_key}",
        f"AuthorizedKeysFile {authorized}",
        f"PidFile {folder / 'sshd.pid'}",
        f"AllowUsers {user}",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "UseDNS no",
        "LoginGraceTime 20",
        "MaxStartups 100:30:200",
        "MaxSessions 50",
        "Subsystem sftp internal-sftp",
        "AllowTcpForwarding yes",  # a test host may be another one's jump host (bastion)
        # Each host gets a HOME of its own: sessions do not read this machine's
        # dotfiles (slow, and a session killed inside them can leave locks behind).
        f"SetEnv HOME={home}",
        "LogLevel INFO",
    ]
    if _openssh_version() >= (9, 8):
        lines.append("PerSourcePenalties no")  # repeated test failures must not ban 127.0.0.1
    return "\n".join(lines) + "\n"


@functools.cache
def _openssh_version() -> tuple[int, int]:
    probe = subprocess.run([SSHD, "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"OpenSSH_(\d+)\.(\d+)", probe.stderr + probe.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _prepare_privsep() -> None:
    if not Path(SSHD).is_file():
        raise SshdError(f"{SSHD} is missing; install openssh-server to run real-SSH tests")
    if shutil.which("ssh-keygen") is None:
        raise SshdError("ssh-keygen is missing; install openssh-client")
    if os.geteuid() == 0 and not PRIVSEP_DIR.is_dir():
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)


def _keygen(path: Path, *, comment: str) -> None:
    if path.exists():
        return
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_banner(proc: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    """Wait until the server answers with an SSH banner; False if it died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
                if conn.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _running(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _descendants(pid: int) -> list[int]:
    tree = _children()
    found: list[int] = []
    stack = [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(tree.get(current, []))
    return found


def _kill_tree(pid: int, sig: signal.Signals) -> None:
    """Signal ``pid`` and all its descendants (sshd gives each session its own session id).

    Everything is stopped first so nothing can fork a new child between the scan
    and the kill.
    """
    frozen = _descendants(pid)
    for victim in frozen:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, signal.SIGSTOP)
    for victim in dict.fromkeys(frozen + _descendants(pid)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(victim, sig)
            os.kill(victim, signal.SIGCONT)
