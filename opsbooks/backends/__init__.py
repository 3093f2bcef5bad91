"""Layer 3: effects behind narrow protocols (local commands, SSH hosts, notify)."""
