"""Backends run commands: local (invoke), remote (fabric), dry-run, and test fakes."""
