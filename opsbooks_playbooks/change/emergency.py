"""Make an emergency change: one on-call lead approves, it runs now, a review is owed."""

from __future__ import annotations

import opsbooks as ob
from opsbooks_playbooks.change import CHANGE_ID, change_action


class ChangeEmergency(ob.Runbook):
    """Make a change that cannot wait for the normal approvals, with one on-call lead's
    approval, and schedule the post-implementation review it owes.

    Use it when a service is down or at immediate risk and the fix is a change (a
    config rollback, a capacity bump, a certificate swap). The review ticket is written
    before the change runs, so it exists even when the change fails and is rolled back;
    its due date is recorded as the fact `change.review_due` for the governance checks.
    """

    title = "Emergency Change"
    owner = "Operations (on-call lead)"
    severity = "high"
    scope = (
        "Changes needed now to restore or protect a production service. Not for "
        "changes that can wait for the next board (`change.request`)."
    )
    prerequisites = [
        "An incident or an imminent risk justifies skipping the normal approvals",
        "The on-call lead is present to approve (they type the change id)",
        "The change and its rollback are each one shell command you have tested",
        "A folder where post-implementation review tickets are kept (reviews_dir)",
    ]
    verification = [
        "The review ticket `<reviews_dir>/<change_id>-review.json` exists with a due date",
        "Facts `change.approved`, `change.executed` and `change.review_due` are recorded",
        "The verification command passed after the change",
        "The change channel was told, with the review due date",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`verify_change` fails",
            cause="The change did not have the intended effect.",
            solution=(
                "The run rolls back with the rollback command; the review ticket stays. "
                "Decide with the incident lead on the next change."
            ),
        ),
        ob.Trouble(
            symptom="`schedule_review` fails with `not a plain file name`",
            cause="The change id would write outside the reviews folder.",
            solution="Use the ticket id exactly, e.g. CHG-1234.",
        ),
        ob.Trouble(
            symptom="The run stops at `approve`",
            cause="The on-call lead declined or typed another id.",
            solution="Answer the lead's questions; resume with `opsbooks resume change.emergency`.",
        ),
    ]
    recovery = (
        "A failure after `execute` runs the rollback command (undo of `execute`). The "
        "review ticket is kept on purpose: a rolled-back emergency change is reviewed too."
    )
    related = ["change.request", "change.maintenance", "security.incident_response"]
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [ob.Change("2026-12-02", "First version: expedited approval, post-review", "ops")]

    class Params(ob.Params):
        change_id: str = ob.Field(pattern=CHANGE_ID, description="Change ticket id, e.g. CHG-1234")
        service: str = ob.Field(description="Service being changed")
        summary: str = ob.Field(description="One line: what changes and why it cannot wait")
        change_command: str = ob.Field(description="Shell command that makes the change")
        rollback_command: str = ob.Field(description="Shell command that undoes it")
        verify_command: str = ob.Field(
            description="Shell command that exits 0 once the change works, e.g. a curl"
        )
        reviews_dir: ob.NoOption = ob.Field(
            "reviews", description="Folder of post-implementation review tickets"
        )
        review_days: int = ob.Field(
            5, ge=1, le=30, description="The review is due this many days from now"
        )

    approve = ob.Gate.confirm(
        "On-call lead: approve emergency change {change_id} on {service} now? {summary}",
        phrase="{change_id}",
        title="On-call lead approves",
        description=(
            "Check that waiting for the normal approvals would cost more than the risk of "
            "the change, that the rollback command is tested, and that the incident "
            "channel knows. Type the change id to approve."
        ),
        marks=("change.approved",),
    )
    schedule_review = ob.Command(
        change_action(
            "review-ticket",
            "--dir",
            "{reviews_dir}",
            "--change",
            "{change_id}",
            "--days",
            "{review_days}",
            "--summary={summary}",
            "--run-id",
            "{run_id}",
        ),
        outputs=("review_ticket", "review_due"),
        title="Schedule the post-implementation review",
        description="Writes the review ticket, due review_days from now; kept even on rollback.",
        idempotent=True,
        irreversible="the post-review is owed even if the change is rolled back",
    )
    execute = ob.Command(
        ["sh", "-c", "--", "{change_command}"],
        title="Make the change",
        marks=("change.executed",),
        undo=ob.Command(["sh", "-c", "--", "{rollback_command}"], title="Roll the change back"),
    )
    verify_change = ob.Verify(
        ["sh", "-c", "--", "{verify_command}"],
        title="Verify the change",
        expect="the verification command exits 0",
    )
    announce = ob.Notify(
        "Emergency change {change_id} on {service} made and verified: {summary}. "
        "Post-review due {outputs.review_due} ({outputs.review_ticket}).",
        title="Announce the emergency change",
    )
