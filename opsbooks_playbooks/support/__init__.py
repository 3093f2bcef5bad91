"""Support runbooks: the L1 -> L2 -> L3 escalation matrix and the common-issues tree."""
