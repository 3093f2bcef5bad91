"""Communication templates: the initial notice, an update, an escalation, the resolution
and the status page text. Each is a template over the incident's params and the
classification's outputs (``{outputs.severity}``), given to an ``ob.Notify`` step, so the
page shows the exact words and the run fills them in.
"""

from __future__ import annotations

import opsbooks as ob
from opsbooks import Retry

#: how a notification is retried before the step fails (the incident record is kept)
DELIVERY = Retry(attempts=4, wait=2.0, backoff=2.0, max_wait=30.0)

INITIAL = (
    "[{outputs.severity}] {incident_id} declared: {service} - {summary}. "
    "Detected {outputs.detected}; MTTR target {outputs.mttr_target}. "
    "{outputs.level_title} ({outputs.contact}) is on it; join the incident bridge now."
)

UPDATE = (
    "[{outputs.severity}] {incident_id} update for {service}: {summary}. "
    "Current state: {state}. Next update in {cadence}."
)

ESCALATION = (
    "[{outputs.severity}] {incident_id} escalated to {outputs.next_level} "
    "({outputs.next_title}: {outputs.next_contact}): {outputs.escalation_reason}. "
    "Service {service} - {summary}. Acknowledge within {outputs.next_response}."
)

RESOLVED = (
    "[{outputs.severity}] {incident_id} resolved: {service} is healthy again. "
    "{summary}. The post-incident review follows within five working days."
)

STATUS_INVESTIGATING = (
    "Status page - {service}: Investigating. {summary}. We are working on it and will "
    "post an update within {cadence}."
)

STATUS_RESOLVED = (
    "Status page - {service}: Resolved. {summary}. The service is operating normally; "
    "we apologise for the disruption and will publish a summary of the cause."
)


def update(state: str, cadence: str = "{update_every} minutes") -> str:
    """An update notice; ``state`` is text or a template (``{outputs.health}``)."""
    return UPDATE.replace("{state}", state).replace("{cadence}", cadence)


def status_investigating(cadence: str = "{update_every} minutes") -> str:
    return STATUS_INVESTIGATING.replace("{cadence}", cadence)


def page_responders() -> ob.Notify:
    """Page the responders with the initial notice (SEV1/SEV2), retried per ``DELIVERY``."""
    return ob.Notify(
        INITIAL, channel="page", title="Page the responders", retry=DELIVERY, on_failure="stop"
    )
