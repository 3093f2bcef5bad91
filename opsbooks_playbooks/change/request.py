"""Request, classify and approve a planned change, inside its window and outside freezes."""

from __future__ import annotations

from typing import Literal, cast

import opsbooks as ob
from opsbooks_playbooks.actions.change import APPROVERS, classify_risk
from opsbooks_playbooks.change import WindowParams, window_check


class ChangeRequest(ob.Runbook):
    """Classify a planned change's risk, collect the approvals that risk needs, and run it
    only inside its scheduled window.

    Use it for every planned production change. The risk class comes from three facts
    about the change (blast radius, reversibility, data touched), so two people asking
    for the same kind of change get the same approvers. Each approval is a gate that
    records who decided and when (fact `change.approved`); the run refuses outside the
    window and during a configured freeze, saying which times apply.
    """

    title = "Change Request and Approval"
    owner = "Operations (change manager)"
    scope = (
        "Planned changes to production services, infrastructure and configuration. "
        "Emergency changes (service down, cannot wait for the board) go through "
        "`change.emergency`; standard pre-approved maintenance through `change.maintenance`."
    )
    prerequisites = [
        "A change ticket (CHG-...) with the plan, the rollback plan and the test evidence",
        "A booked window: window_start and window_end in UTC",
        "The approvers for the risk class are reachable during the run "
        "(low: service owner; medium: + change advisory board; high: + engineering director)",
    ]
    verification = [
        "Every approval the risk class needs is in the journal with who gave it",
        "The facts `change.approved` and `change.executed` are recorded, inside the window",
        "The service owner confirmed the change works (gate `verify`)",
        "The closing announcement reached the change channel",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`window` fails with `before the change window opens`",
            cause="The run started early; approvals are only collected inside the window.",
            solution="Start the run again once window_start has passed.",
        ),
        ob.Trouble(
            symptom="`window` fails with `overlaps the change freeze`",
            cause="The window overlaps a freeze listed in `[settings.change] freezes`.",
            solution=(
                "Book a window after the freeze. If the change cannot wait, it is an "
                "emergency: use `change.emergency`."
            ),
        ),
        ob.Trouble(
            symptom="The run stops at `cab_approval` (exit 3)",
            cause="The change advisory board declined or has not answered yet.",
            solution=(
                "Address the board's questions in the ticket, then "
                "`opsbooks resume change.request` to ask again."
            ),
        ),
        ob.Trouble(
            symptom="`invalid parameters: window_end ... is not after window_start`",
            cause="The window's times are swapped or in another time zone.",
            solution="Give both times in UTC with a trailing Z, the end after the start.",
        ),
    ]
    recovery = (
        "The run itself changes nothing: the change is carried out by people at the "
        "`implement` step. If it goes wrong, follow the rollback plan in the ticket, "
        "decline the `verify` gate (the run stops, resumable) and record the outcome in "
        "the ticket; open a `change.emergency` run if the rollback needs a new change."
    )
    related = ["change.maintenance", "change.emergency", "release.deploy"]
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [
        ob.Change("2026-12-02", "First version: risk classes, approvals, windows", "ops"),
        ob.Change("2026-12-02", "Every approval gate records change.approved", "ops"),
    ]

    class Params(WindowParams):
        service: str = ob.Field(description="Service or system being changed, e.g. billing-api")
        summary: str = ob.Field(description="One line: what changes and why")
        blast_radius: Literal["host", "service", "platform"] = ob.Field(
            description="What can break: one host, one whole service, or shared platform"
        )
        reversibility: Literal["instant", "rollback", "irreversible"] = ob.Field(
            description="instant (flag/config flip), rollback (a tested procedure), irreversible"
        )
        data_touched: Literal["none", "config", "customer"] = ob.Field(
            description="Data the change writes: none, configuration, or customer data"
        )
        urgency: Literal["planned", "emergency"] = ob.Field(
            "planned",
            description="emergency: the service is down or at risk now and cannot wait "
            "for the board; the run hands over to change.emergency",
        )

    @ob.step(
        title="Classify the risk",
        idempotent=True,
        irreversible="read-only: computes the risk class from the params, changes nothing",
    )
    def classify(self, ctx: ob.StepContext) -> str:
        """Return low/medium/high (or emergency) from blast radius, reversibility and data."""
        p = cast("ChangeRequest.Params", self.params)
        risk = (
            "emergency"
            if p.urgency == "emergency"
            else classify_risk(p.blast_radius, p.reversibility, p.data_touched)
        )
        who = ", ".join(APPROVERS[risk])
        ctx.say(
            f"{p.change_id} on {p.service}: blast radius {p.blast_radius}, {p.reversibility}, "
            f"data {p.data_touched} -> risk {risk}; approvals needed: {who}"
        )
        return risk

    route_emergency = ob.Branch(
        cases=[('outputs.classify == "emergency"', "hand_over")],
        default="window",
        title="Emergency changes leave this procedure",
    )
    hand_over = ob.Diagnosis(
        "{change_id} is an emergency change: it cannot wait for the normal approvals",
        resolution=(
            "Run change.emergency for it: one on-call lead approves, the change runs at "
            "once, and a post-implementation review is scheduled."
        ),
        commands=[
            "opsbooks run change.emergency --change-id {change_id} --service {service}",
        ],
        title="Hand over to the emergency procedure",
    )

    @ob.step(
        title="Check the change window",
        idempotent=True,
        irreversible="read-only: compares the clock with the window and freezes",
    )
    def window(self, ctx: ob.StepContext) -> str:
        """Refuse before window_start, after window_end, or when a freeze overlaps."""
        p = cast("ChangeRequest.Params", self.params)
        return window_check(ctx, "change.request", p.window_start, p.window_end)

    route = ob.Branch(
        cases=[
            ('outputs.classify == "high"', "director_approval"),
            ('outputs.classify == "medium"', "cab_approval"),
        ],
        default="owner_approval",
        title="Approvals by risk",
    )
    director_approval = ob.Gate.confirm(
        "Engineering director: approve high-risk change {change_id} on {service} "
        "({summary}) for {window_start} to {window_end}?",
        title="Engineering director approves",
        description=(
            "High risk: check that the rollback plan was rehearsed (or the change is "
            "accepted as irreversible in writing), customers and support are warned, and "
            "the window avoids peak traffic. Approve only if the business accepts the risk."
        ),
        marks=("change.approved",),
    )
    cab_approval = ob.Gate.confirm(
        "Change advisory board: approve change {change_id} on {service} ({summary})?",
        title="Change advisory board approves",
        description=(
            "Check the ticket's plan, test evidence and rollback plan, that no other "
            "change touches the same systems in this window, and that the on-call team "
            "knows. Answer for the board as recorded in its minutes."
        ),
        marks=("change.approved",),
    )
    owner_approval = ob.Gate.confirm(
        "Service owner of {service}: approve change {change_id} ({summary})?",
        title="Service owner approves",
        description=(
            "Check the change does what the ticket says, that someone who can roll it back "
            "is present for the whole window, and that monitoring for {service} is watched."
        ),
        marks=("change.approved",),
    )
    announce = ob.Notify(
        "Change {change_id} on {service} approved (risk {outputs.classify}); "
        "window {window_start} to {window_end}: {summary}",
        title="Announce the approved change",
    )
    implement = ob.Manual(
        """
        Carry out change {change_id} on {service} exactly as its plan says.
        Keep the rollback plan at hand; stop and roll back at the first unexpected
        result. Say done when the last step of the plan is complete.
        """,
        title="Carry out the change",
        marks=("change.executed",),
    )
    verify = ob.Gate.confirm(
        "Does {service} work as expected after change {change_id}?",
        title="Service owner verifies",
        description=(
            "Check the service's health dashboard and error rate against before the "
            "change, and run the ticket's verification steps. A no stops the run: roll "
            "back by the plan and resume once decided."
        ),
    )
    close = ob.Notify(
        "Change {change_id} on {service} done and verified.", title="Announce the change done"
    )
