"""Governance, pure: lint rules, operations statistics and review edits.

Everything here is computed from facts passed in (plans and runbook definitions, journal
records, git commit facts, today's date); reading the journal, git and the clock happens
in ``opsbooks.edges``. It sits between ``records`` and ``run | render``, so the operations
report renderer can read the statistics it draws.
"""
