"""Security runbooks: responding to incidents and vulnerabilities."""
