"""Escalate a support ticket by its age against the level's response target."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import opsbooks as ob
from opsbooks_playbooks.actions.change import UTC_PATTERN, parse_utc, utc_text

_TICKET = r"^[A-Z][A-Z0-9]*-\d{1,10}$"
_HANDLE = r"^[A-Za-z0-9@][A-Za-z0-9 ._@-]{0,63}$"
_LEVEL = r"^[A-Za-z][A-Za-z0-9_-]{0,31}$"


def decide(age: float, response: float, level: str, next_level: str | None) -> str:
    """The level that should hold the ticket now: the next one once the target is past."""
    if age > response and next_level is not None:
        return next_level
    return level


class SupportEscalation(ob.Runbook):
    """Decide whether a support ticket must go up a level, page that level, and record who
    took it.

    Use it when a ticket has waited at its level, or at each hand-over. The levels,
    their contacts and their response targets come from the configuration (the
    incident policy's `levels` in `[tool.opsbooks.incidents]` and
    `[tool.opsbooks.contacts]`), so the matrix has one source. The ticket's age against
    the current level's target decides: past it, the next level is paged.
    """

    title = "Support Escalation (L1 -> L2 -> L3)"
    owner = "Support operations"
    scope = (
        "Customer and internal support tickets handled by the L1 (ops on-call), L2 "
        "(platform) and L3 (engineering) levels. Security incidents go to "
        "`security.incident_response`."
    )
    prerequisites = [
        "The ticket id, when it was opened (UTC), and the level holding it now",
        "Contacts L1, L2 and L3 in `[tool.opsbooks.contacts]`",
        "The `page` notify channel reaches the levels' on-call (webhook to the pager)",
    ]
    verification = [
        "The journal shows the level chosen, the ticket's age and the target it was held to",
        "When escalated: the page reached the next level (fact `incident.escalated`)",
        "The person who took the ticket is recorded (fact `incident.acknowledged`)",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`assess` fails: `escalation level L3 has no contact`",
            cause="The level exists in the policy but `[tool.opsbooks.contacts]` lacks its key.",
            solution='Add the key (e.g. L3 = "Engineering lead, +1 555 0100") and run again.',
        ),
        ob.Trouble(
            symptom="`page` fails: `notify channel 'page' is not configured`",
            cause="No `[tool.opsbooks.notify.page]` channel.",
            solution="Configure it (a webhook to the pager) and resume; page by phone meanwhile.",
        ),
        ob.Trouble(
            symptom="The run is refused: `--opened-at: ticket ... was opened in the future`",
            cause="opened_at was given in local time instead of UTC.",
            solution="Give opened_at in UTC with a trailing Z.",
        ),
    ]
    recovery = (
        "Nothing to undo: the run pages and records. A wrong page is corrected by a "
        "message on the same channel; run again with the right level."
    )
    related = ["support.common_issues", "security.incident_response", "change.emergency"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change("2026-12-02", "First version: the matrix from the incident policy"),
        ob.Change("2026-12-02", "Levels from the policy; bad level or time refused before a run"),
    ]

    class Params(ob.Params):
        ticket_id: str = ob.Field(pattern=_TICKET, description="Ticket id, e.g. SUP-4711")
        opened_at: str = ob.Field(
            pattern=UTC_PATTERN,
            description="When the ticket was opened (UTC), e.g. 2026-12-02T08:15Z",
        )
        level: str = ob.Field(
            "L1",
            pattern=_LEVEL,
            description="The level holding the ticket now: a level of the incident policy "
            "([tool.opsbooks.incidents] levels; L1, L2, L3 by default)",
        )
        summary: str = ob.Field(description="One line: the customer's problem")

    @classmethod
    def check_params(cls, params: ob.Params, config: Mapping[str, Any]) -> None:
        """Refuse a level the incident policy lacks, or a ticket opened in the future."""
        p = cast("SupportEscalation.Params", params)
        levels = list(ob.IncidentPolicy.from_config(config).levels)
        problems: list[str] = []
        if p.level not in levels:
            problems.append(
                f"--level: {p.level!r} is not a level of the incident policy; valid: "
                f"{', '.join(levels)} ([tool.opsbooks.incidents] levels)"
            )
        now = dt.datetime.now(dt.UTC)
        if parse_utc(p.opened_at, "opened_at") > now + dt.timedelta(minutes=5):
            problems.append(
                f"--opened-at: ticket {p.ticket_id} was opened in the future "
                f"({p.opened_at}, now {utc_text(now)}); give opened_at in UTC"
            )
        if problems:
            raise ob.ParamsError(cls.name, problems)

    @ob.step(
        title="Compare the ticket's age with the response target",
        idempotent=True,
        irreversible="read-only: reads the policy and the clock",
    )
    def assess(self, ctx: ob.StepContext) -> str:
        """Return the level that should hold the ticket: the next one once past the target."""
        p = cast("SupportEscalation.Params", self.params)
        policy = ob.IncidentPolicy.from_config(ctx.config)
        now = dt.datetime.now(dt.UTC)
        opened = parse_utc(p.opened_at, "opened_at")  # check_params refused a future time
        age = max(0.0, (now - opened).total_seconds())
        held = policy.level(p.level)
        target = decide(age, held.response_seconds, p.level, policy.next_level(p.level))
        verdict = f"escalate to {target}" if target != p.level else f"stays at {target}"
        ctx.say(
            f"{p.ticket_id} is {age / 60:.0f} min old; {p.level} ({held.title}) has "
            f"{held.response} to respond -> {verdict}"
        )
        return target

    @ob.step(
        title="Look up the contact of that level",
        idempotent=True,
        irreversible="read-only: reads the contacts",
    )
    def contact(self, ctx: ob.StepContext) -> str:
        """Return who to call at the chosen level, from [tool.opsbooks.contacts]."""
        policy = ob.IncidentPolicy.from_config(ctx.config)
        level = str(ctx.outputs["assess"])
        channel = policy.level(level).channel
        if channel != "page":
            ctx.say(f"note: the policy pages {level} on {channel!r}; this run pages on 'page'")
        return policy.contact(level, ctx.config)

    page = ob.Notify(
        "Ticket {ticket_id} escalated to {outputs.assess} ({outputs.contact}): past "
        "{level}'s response target. {summary}",
        channel="page",
        when="outputs.assess != level",
        title="Page the next level",
    )

    @ob.step(
        title="Record the escalation",
        when="outputs.assess != level",
        idempotent=True,
        irreversible="a record for the statistics: nothing to undo",
    )
    def escalated(self, ctx: ob.StepContext) -> str:
        """Record the fact incident.escalated with the level paged."""
        level = ctx.outputs["assess"]
        return f"escalated to {level}\n::fact incident.escalated={level}"

    take = ob.Gate.ask(
        "Who at {outputs.assess} takes ticket {ticket_id}? (name or handle)",
        pattern=_HANDLE,
        title="Record who takes the ticket",
        description=(
            "Answer with the name of the person at {outputs.assess} who confirmed they "
            "own the ticket now (on the call or in the channel), not the one paging."
        ),
        marks=("incident.acknowledged",),
    )
    hand_over = ob.Manual(
        """
        Write the hand-over into ticket {ticket_id}: what was tried, what was ruled
        out, the customer's impact, and that {answers.take} at {outputs.assess} owns it now.
        """,
        title="Write the hand-over",
    )
    record = ob.Notify(
        "Ticket {ticket_id} is owned by {answers.take} at {outputs.assess}.",
        title="Announce the new owner",
    )
