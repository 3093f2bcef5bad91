"""A synthetic runbook that uses every step kind and doc section, for golden tests."""

from __future__ import annotations

from typing import Literal

import opsbooks as ob


def _port_open(ctx: ob.StepContext) -> bool:
    """The service port answers."""
    return True


class EveryKind(ob.Runbook):
    """Exercise every step kind so the renderer's output for each is pinned.

    A second paragraph | with a pipe, to check escaping outside tables.
    """

    name = "fixtures.every_kind"
    title = "Every Kind of Step"
    severity = "SEV2"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    prerequisites = ["A shell with `tar`", "Access to the `web` hosts"]
    verification = ["The service answers on its port", "Nothing is left in `/tmp/stage`"]
    troubleshooting = [
        ob.Trouble(
            symptom="`tar` exits 2 | permission denied",
            cause="The log directory is not readable\nby the operator",
            solution="Run as the service user.",
        )
    ]
    recovery = "If the undo chain fails too, restore from the last backup."
    related = ["release.rollback", "security.incident_response", "https://example.invalid/x"]
    last_reviewed = "2026-11-01"
    review_every_days = 30
    rto = "1h"
    rpo = "15m"
    changelog = [
        ob.Change("2026-11-01", "First version", "docs team"),
        ob.Change("2026-11-15", "Add the remote step | and a pipe"),
    ]

    class Params(ob.Params):
        version: str = ob.Field(description="Release version, e.g. 1.4.2")
        environment: Literal["staging", "production"] = ob.Field(
            "staging", description="Where to deploy"
        )
        token: ob.SecretStr = ob.Field(description="API token for the feed")
        hosts: list[str] = ob.Field(default_factory=list, description="Extra hosts")
        dry: bool = ob.Field(False, description="Only pretend")
        note: str | None = None

    stage = ob.Command(
        ["tar", "-czf", "/tmp/stage/app-{version}.tgz", "app"],
        title="Stage the archive",
        description="Packs the app directory.",
        undo="unstage",
        retry=ob.Retry(attempts=3, wait=2, backoff=2, max_wait=30),
        timeout="5m",
        idempotent=True,
    )
    unstage = ob.Command("rm -f /tmp/stage/app-{version}.tgz", title="Remove the staged archive")
    approve = ob.Gate.confirm(
        "Deploy {version} to {environment}?",
        phrase="{environment}",
        gate_timeout="30m",
        rollback_on_decline=True,
    )
    pick = ob.Gate.choose(
        "How risky is it?", ["low", "high"], default="low", gate_timeout="10m", on_timeout="default"
    )
    route = ob.Branch(on="pick", routes={"high": "announce_risk"}, default="check_ticket")
    check_ticket = ob.Manual(
        """
        Open the change ticket and check:

        - the approver is not the author;
        - the window is today.
        """,
        when="environment == production",
    )
    announce_risk = ob.Notify("High-risk deploy of {version} | starting", channel="ops")
    roll = ob.Remote(
        "systemctl restart app-{version}",
        role="web",
        strategy="batches",
        batch_size=2,
        max_failures="25%",
        canary=True,
        pause_between_batches=True,
        undo=ob.Command("systemctl restart app-previous", title="Restart the previous app"),
    )
    healthy = ob.WaitUntil(
        "curl -fsS http://localhost:8080/health", poll=ob.Poll(interval=5, timeout=120)
    )
    port = ob.Verify(_port_open, expect="port 8080 answers")
    ticket = ob.Gate.ask("Change ticket number?", answer_type=int, pattern=r"\d+")

    @ob.step(title="Record the result", when="not dry")
    def record(self, ctx: ob.StepContext) -> str | None:
        """Write the outcome to the run's outputs."""
        return "ok"


class Minimal(ob.Runbook):
    """Do one thing, with no optional sections."""

    name = "tests.minimal"
    scope = "tests"
    owner = "me"
    last_reviewed = "2026-01-01"

    class Params(ob.Params):
        password: ob.SecretStr = ob.SecretStr("hunter2")
        region: str = ob.Field("eu-west-1", description="Cloud | region")

    only = ob.Command("deploy --region {region}", env={"PASSWORD": "{password}"})
