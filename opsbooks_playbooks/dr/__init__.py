"""Disaster-recovery runbooks: recover onto a standby from backups, and drill it on a schedule."""
