"""Runbooks for the expression and placeholder tests (fakes, the real CLI, golden pages)."""
