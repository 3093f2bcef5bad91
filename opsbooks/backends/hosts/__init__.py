"""The host inventory: names, addresses, roles and vars, read from configuration.

``load_inventory`` is the public way in for actions and scripts working on hosts.
"""

from __future__ import annotations

from opsbooks.backends.hosts.inventory import Host, Inventory, bind_for_host, bound_for_host
from opsbooks.backends.hosts.load import load_inventory
from opsbooks.errors import InventoryError

__all__ = [
    "Host",
    "Inventory",
    "InventoryError",
    "bind_for_host",
    "bound_for_host",
    "load_inventory",
]
