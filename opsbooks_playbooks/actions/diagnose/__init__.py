"""Checks the troubleshooting trees run: each prints ``::output`` lines a ``Branch`` decides on.

Every module is a command line (``python -m opsbooks_playbooks.actions.diagnose.<module> ...``)
built on the library's action harness, so an operator at a terminal types the same
check the runbook ran. A check reports what it measured and exits 0 whatever it found;
it exits 1 only when it could not measure at all, with one line saying why.
"""
