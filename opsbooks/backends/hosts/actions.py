"""What a remote step does on one host, through any ``HostBackend``: run, put or get.

Kept apart from the backends so the run layer (and tests, with ``FakeHosts``) turn a
step into a per-host ``Attempt`` the same way whatever carries it out.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from opsbooks.backends.hosts.inventory import Host, bind_for_host
from opsbooks.backends.rollout import Attempt

if TYPE_CHECKING:
    from opsbooks.backends.protocols import HostBackend


class RemoteAction(Protocol):
    """What a remote step does on each host: a command, or a file copy (``transfer``).

    ``command``, ``local`` and ``remote`` are templates over params and ``{host.*}``.
    """

    @property
    def command(self) -> str: ...
    @property
    def transfer(self) -> str: ...
    @property
    def timeout_seconds(self) -> float | None: ...


def step_action(
    backend: HostBackend,
    step: RemoteAction,
    values: Mapping[str, Any] | None = None,
    *,
    workdir: Path | None = None,
) -> Attempt:
    """What a remote step does on one host through ``backend``: run, put or get.

    Binds the step's templates per host from ``values`` (params and ``outputs``) in one
    pass; ``transfer`` is ``"upload"``, ``"download"`` or empty (a command). A relative
    local path resolves against ``workdir`` (the project root), never the process's cwd.
    """
    local, remote = getattr(step, "local", ""), getattr(step, "remote", "")

    def path(template: str, host: Host) -> str:
        return bind_for_host(template, host, values, shell=False)

    def local_path(host: Host) -> str:
        bound = Path(path(local, host)).expanduser()
        return str(bound if bound.is_absolute() or workdir is None else workdir / bound)

    if step.transfer == "upload":
        return lambda h: backend.put(h, local_path(h), path(remote, h))
    if step.transfer == "download":
        return lambda h: backend.get(h, path(remote, h), local_path(h))
    command, timeout = step.command, step.timeout_seconds
    env_templates: Mapping[str, str] = getattr(step, "env", None) or {}
    cwd, umask = getattr(step, "cwd", None), getattr(step, "umask", None)
    become: str | None = getattr(step, "become", None)
    extra = {"become": become} if become else {}  # a user's own backend may not take it

    def run(h: Host) -> Any:
        env = {k: path(v, h) for k, v in env_templates.items()} or None
        line = with_context(bind_for_host(command, h, values), cwd and path(cwd, h), umask)
        return backend.run(h, line, timeout=timeout, env=env, **extra)

    return run


def with_context(command: str, cwd: str | None = None, umask: str | None = None) -> str:
    """``command`` preceded by its remote context: the umask, then the directory.

    One line each, and the script exits if one fails, so a command never runs in the
    wrong directory or with the wrong mask. ``cwd`` is plain text (bound per host).
    """
    lines = [f"umask {umask} || exit 1"] if umask else []
    if cwd:
        lines.append(f"cd -- {shlex.quote(cwd)} || exit 1")
    return "\n".join([*lines, command])


def command_action(
    backend: HostBackend, command_for_host: Callable[[Host], str], *, timeout: float | None = None
) -> Attempt:
    """Run ``command_for_host(host)`` on each host: the attempt for an ad-hoc roll-out."""
    return lambda h: backend.run(h, command_for_host(h), timeout=timeout)
