"""Public test kits: real servers on loopback for testing runbooks end to end.

Import the kit you need (``opsbooks.testkit.sshd``); this package imports none of
them, so using one never starts or requires another.
"""
