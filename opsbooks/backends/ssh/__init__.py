"""Hosts over SSH: the only package that imports fabric or paramiko."""
