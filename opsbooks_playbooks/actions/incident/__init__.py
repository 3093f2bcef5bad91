"""Shared incident actions: classification, escalation, communication templates, the
post-incident review, and the health and latency probes the incident runbooks run.

One module per job. The Python steps (``steps``) read the incident policy from the
run's configuration (``IncidentPolicy.from_config(ctx.config)``) and publish what they
decide as ``::output`` lines and the incident's timing facts as ``::fact`` lines, so the
journal holds the incident record before any notification is attempted.
"""
