"""Incident response by support level (L1, L2, L3), full outages and performance incidents.

The classification matrix, MTTR targets and escalation levels are the incident policy
(``[tool.opsbooks.incidents]``, ``ob.IncidentPolicy``). Each runbook records the
incident's timing facts (detected, acknowledged, mitigated, resolved) and severity, so
``opsbooks stats`` measures MTTR per severity from the journal. An escalation starts the
next level's runbook as a linked run that carries the incident record.
"""

from __future__ import annotations

SEV_PAGED = 'outputs.severity in ["SEV1", "SEV2"]'
CLASSIFICATION = (
    "Severity comes from impact x urgency ([tool.opsbooks.incidents] matrix; defaults): "
    "extensive impact: critical/high SEV1, medium SEV2, low SEV3; significant: critical "
    "SEV1, high SEV2, medium/low SEV3; moderate: critical SEV2, high/medium SEV3, low SEV4; "
    "minor: critical/high SEV3, medium/low SEV4. MTTR targets: SEV1 1h, SEV2 4h, SEV3 24h "
    "(one business day), SEV4 72h. SEV1 and SEV2 page and open a bridge."
)
LEVELS = (
    "Escalation levels ([tool.opsbooks.incidents] levels, contacts in "
    "[tool.opsbooks.contacts]): L1 ops on-call, response target 15m (incident.l1); L2 "
    "platform team, 30m (incident.l2); L3 engineering lead, 1h (incident.l3). An incident "
    "goes up one level when its severity says so (SEV1 engages L2 at once), when the "
    "responder judges it needs the next level, when the service is still unhealthy after a "
    "mitigation, or when the level's response target passes without a mitigation."
)
