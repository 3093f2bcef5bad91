"""The sudo password of a run's ``become=`` steps: from the environment, or asked once.

Read only here (the edge), held in memory for the run, added to the redactor so it is
masked wherever it could show, and handed to the SSH executor, which feeds it to sudo
on the session's stdin: never on a command line, never journaled. Without it sudo runs
with ``-n`` and a host that wants a password fails with a hint saying how to give one.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsbooks.define.specs import RemoteSpec
from opsbooks.errors import BadInput
from opsbooks.plan.binding import Plan

if TYPE_CHECKING:
    from opsbooks.backends.hosts.inventory import Inventory
    from opsbooks.backends.protocols import HostBackend
    from opsbooks.backends.ssh.pool import ConnectionPool
    from opsbooks.edges.config import Config
    from opsbooks.edges.requests import Surroundings
    from opsbooks.records.redaction import Redactor

ENV_VAR = "OPSBOOKS_SUDO_PASSWORD"


def needs_sudo(bound: Plan) -> bool:
    return any(isinstance(p.spec, RemoteSpec) and p.spec.become for p in bound.all_steps())


def sudo_password(bound: Plan, config: Config, surroundings: Surroundings) -> str | None:
    """The password for this run's ``become=`` steps, or None (then ``sudo -n``)."""
    if not needs_sudo(bound):
        return None
    given = surroundings.environ.get(ENV_VAR)
    if given:
        return given
    if dict(config.ssh).get("sudo_password", "never") != "ask":
        return None
    if not surroundings.is_interactive():
        raise BadInput(
            f'{bound.name} has become= steps and sudo_password = "ask" in the [ssh] '
            f"settings, but there is no terminal to ask at; set {ENV_VAR} in the "
            f"environment, or run from a terminal"
        )
    return getpass.getpass(f"sudo password for the become= steps of {bound.name}: ")


def executor_factory(
    bound: Plan,
    config: Config,
    surroundings: Surroundings,
    redactor: Redactor,
    pool: ConnectionPool | None = None,
) -> Callable[[Inventory], HostBackend] | None:
    """An SSH executor factory holding the run's sudo password and borrowing from the
    run's kept connections (None, with neither: the default one)."""
    password = sudo_password(bound, config, surroundings)
    if password is None and pool is None:
        return None
    if password is not None:
        redactor.add(password)
    from opsbooks.backends.ssh.executor import RemoteExecutor  # fabric only when needed

    return lambda inventory: RemoteExecutor(inventory, sudo_password=password, pool=pool)
