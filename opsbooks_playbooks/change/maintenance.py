"""Run a scheduled maintenance window: announce, drain, work, verify, reopen."""

from __future__ import annotations

from typing import cast

import opsbooks as ob
from opsbooks_playbooks.change import WindowParams, change_action, window_check

_ADDRESS = r"^[A-Za-z0-9][A-Za-z0-9.:\[\]-]*$"
_URL = r"^https?://[^\s]+$"


class ChangeMaintenance(ob.Runbook):
    """Take one server of a service out of traffic for scheduled maintenance, do the work,
    and put it back only once it is healthy again.

    Use it for approved, scheduled maintenance on a server behind an nginx-style
    upstream (patching, disk work, a restart that cannot be rolling). Draining marks the
    server `down` in the upstream file and raises the maintenance flag its health
    endpoint reads; the run waits until the endpoint reports `draining` before anyone
    touches the server, and reopens it only after the work is verified.
    """

    title = "Scheduled Maintenance"
    owner = "Operations"
    scope = (
        "One server of one service, behind an upstream file the load balancer reads, "
        "during an approved change window (see `change.request`)."
    )
    prerequisites = [
        "The change is approved (`change.request`) and the window is booked in UTC",
        "Write access to the upstream file and the service's maintenance flag path",
        "The load balancer reloads the upstream file (nginx `reload` or a watcher)",
        "The service's health endpoint answers `draining` while the flag file exists",
    ]
    verification = [
        "Before the work: the health endpoint reported `draining`",
        "After the work: the server line in the upstream file has no `down`",
        "The maintenance flag file is gone and the health endpoint answers 200",
        "The all-clear notification reached the channel",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="`drained` times out: the endpoint never says `draining`",
            cause="The service does not read the flag path given, or the URL is another server's.",
            solution=(
                "Check `curl -sS HEALTH_URL` and the service's configured flag path; "
                "the run rolls back and the server is put back."
            ),
        ),
        ob.Trouble(
            symptom="`drain` fails: `has no server ADDRESS; line`",
            cause="The address is not written the same way in the upstream file.",
            solution="Use the address exactly as in the file (`grep -n server UPSTREAM`).",
        ),
        ob.Trouble(
            symptom="`healthy` times out after reopening",
            cause="The work left the service broken.",
            solution=(
                "The run takes the server out again (undo of `reopen`), then puts it "
                "back as it was: fix the server, then run the window again."
            ),
        ),
    ]
    recovery = (
        "A failure after `drain` rolls back: `reopen` is undone by draining again, and "
        "`drain` by reopening, so the upstream file and flag end as they started. By "
        "hand: `python -m opsbooks_playbooks.actions.change reopen --upstream FILE --server ADDR "
        "--flag FLAG`, then reload the load balancer."
    )
    related = ["change.request", "change.emergency"]
    last_reviewed = "2026-12-02"
    review_every_days = 180
    changelog = [ob.Change("2026-12-02", "First version: upstream drain and health check", "ops")]

    class Params(WindowParams):
        service: str = ob.Field(description="Service under maintenance, e.g. billing-api")
        server: str = ob.Field(
            pattern=_ADDRESS, description="Server address as the upstream file lists it"
        )
        upstream_file: ob.NoOption = ob.Field(
            description="Upstream file the load balancer reads, e.g. /etc/nginx/conf.d/app.conf"
        )
        flag_file: ob.NoOption = ob.Field(
            description="Maintenance flag the service's health endpoint reads"
        )
        health_url: str = ob.Field(
            pattern=_URL, description="The server's own health endpoint, http(s)://..."
        )
        work: str = ob.Field(
            "Carry out the maintenance described in the change ticket.",
            description="What the engineer does while the server is out of traffic",
        )

    @ob.step(
        title="Check the change window",
        idempotent=True,
        irreversible="read-only: compares the clock with the window and freezes",
    )
    def window(self, ctx: ob.StepContext) -> str:
        """Refuse before window_start, after window_end, or when a freeze overlaps."""
        p = cast("ChangeMaintenance.Params", self.params)
        return window_check(ctx, "change.maintenance", p.window_start, p.window_end)

    announce = ob.Notify(
        "Maintenance {change_id}: {server} of {service} leaves traffic from "
        "{window_start} to {window_end}.",
        title="Announce the window",
    )
    drain = ob.Command(
        change_action(
            "drain",
            "--upstream",
            "{upstream_file}",
            "--server",
            "{server}",
            "--flag",
            "{flag_file}",
            "--reason",
            "maintenance {change_id}",
        ),
        title="Take the server out of traffic",
        description="Marks the server `down` in the upstream file and raises the flag.",
        idempotent=True,
        undo="undrain",
    )
    undrain = ob.Command(
        change_action(
            "reopen",
            "--upstream",
            "{upstream_file}",
            "--server",
            "{server}",
            "--flag",
            "{flag_file}",
        ),
        title="Put the server back into traffic",
        idempotent=True,
    )
    drained = ob.WaitUntil(
        "curl -sS --max-time 5 -- {health_url} | grep -q draining",
        poll=ob.Poll(interval=2, timeout=60),
        title="Wait until the server reports draining",
    )
    do_work = ob.Manual("{work}", title="Do the maintenance work", marks=("change.executed",))
    work_verified = ob.Gate.confirm(
        "Is the maintenance on {server} complete and checked?",
        title="Work verified",
        description=(
            "Check the ticket's verification steps on the server itself (service "
            "running, logs clean, disk/package state as planned) before it takes traffic."
        ),
    )
    reopen = ob.Command(
        change_action(
            "reopen",
            "--upstream",
            "{upstream_file}",
            "--server",
            "{server}",
            "--flag",
            "{flag_file}",
        ),
        title="Reopen the server",
        idempotent=True,
        undo=ob.Command(
            change_action(
                "drain",
                "--upstream",
                "{upstream_file}",
                "--server",
                "{server}",
                "--flag",
                "{flag_file}",
                "--reason",
                "unhealthy after maintenance {change_id}",
            ),
            title="Take the server out again",
            idempotent=True,
        ),
    )
    healthy = ob.WaitUntil(
        "curl -fsS --max-time 5 -- {health_url}",
        poll=ob.Poll(interval=2, timeout=120),
        title="Wait until the server is healthy",
    )
    all_clear = ob.Notify(
        "Maintenance {change_id} done: {server} of {service} is back in traffic.",
        title="Announce the all-clear",
    )
