"""The host inventory: names, addresses, roles and vars, read from configuration."""
