"""Layer 4, the imperative shell: drive a Plan through protocols and journal it."""
