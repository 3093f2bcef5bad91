"""Layer 1, pure: what a runbook declares (params, steps, policies, templates, outputs).

Nothing here runs, reads the environment or imports a layer above it.
"""
