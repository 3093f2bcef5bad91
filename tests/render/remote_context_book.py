"""A synthetic runbook using the issue-14 remote keywords, for its golden page."""

from __future__ import annotations

import opsbooks as ob


class RemoteContext(ob.Runbook):
    """Pin how run-time targets, the remote context, per-host outputs, timed pauses and
    checks on hosts render."""

    name = "fixtures.remote_context"
    title = "Remote Context"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        target_role: str = ob.Field(default="web", description="the role to deploy to")
        servers: str = ob.Field(default="web1,web2", description="hosts to probe, a comma list")
        token: ob.SecretStr = ob.Field(description="deploy token, handed over stdin")

    capture = ob.Remote("cat VERSION", hosts="{servers}", outputs=("version",))
    deploy = ob.Remote(
        "deploy --from {outputs.version}",
        role="{target_role}",
        cwd="/srv/{host.name}",
        umask="027",
        become="deploy",
        env={"TOKEN": "{token}"},
        strategy="batches",
        batch_size=2,
        pause_between_batches="30s",
    )
    healthy = ob.RemoteVerify("curl -fs localhost/health", role="{target_role}", expect="200")
    settled = ob.RemoteWait("test -e /run/ready", role="{target_role}", poll=ob.Poll(5, 120))
