"""Which hosts a remote step runs on: its role, or its ``hosts=`` list, in the inventory.

Both may be chosen at run time (``role="{target_role}"``, ``hosts="{hosts}"``): the
plan binds them from params, and this resolves them before any step runs, so a name
the inventory does not know is bad input (exit 2) that lists the names it does know.
"""

from __future__ import annotations

import re
from typing import Protocol

from opsbooks.backends.hosts.inventory import Host, Inventory
from opsbooks.errors import BadInput, UnknownHost

_SEPARATORS = re.compile(r"[,\s]+")


class Targeted(Protocol):
    """What names a remote step's hosts (``RemoteSpec``)."""

    @property
    def role(self) -> str: ...
    @property
    def hosts(self) -> str: ...


def host_names(spec: Targeted) -> list[str]:
    """The names in ``hosts=`` (a comma or space separated list), each once, in order."""
    return list(dict.fromkeys(n for n in _SEPARATORS.split(spec.hosts) if n))


def targets(inventory: Inventory, spec: Targeted) -> list[Host]:
    """The inventory hosts ``spec`` names, in the order given (hosts) or declared (role)."""
    if spec.hosts.strip():
        unknown = [n for n in host_names(spec) if n not in {h.name for h in inventory.hosts}]
        if unknown:
            raise UnknownHost(unknown[0], [h.name for h in inventory.hosts])
        return [inventory.host(name) for name in host_names(spec)]
    if not spec.role.strip():
        raise BadInput(
            "a remote step's hosts are empty: its role= or hosts= parameter was given as "
            f"an empty value; name a role ({', '.join(inventory.roles) or 'none defined'}) "
            f"or hosts ({', '.join(h.name for h in inventory.hosts) or 'none defined'})"
        )
    return inventory.hosts_for(spec.role)


def describe(spec: Targeted) -> str:
    """How pages, dry runs and messages name the target: ``role 'web'``, ``hosts web1, web2``."""
    if spec.hosts:
        return (
            f"hosts {spec.hosts}" if "{" in spec.hosts else f"hosts {', '.join(host_names(spec))}"
        )
    return f"role {spec.role!r}"
