"""A runbook on hosts whose commands name answers, the run and host vars."""

from __future__ import annotations

import opsbooks as ob


class Stamp(ob.Runbook):
    """Stamp each web host with the change ticket, the run and its own data centre."""

    name = "expr.stamp"
    scope = "Expression tests on hosts; the commands only write a file per host."
    owner = "sre"
    last_reviewed = "2026-12-01"

    class Params(ob.Params):
        version: str = "2.0.0"

    ticket = ob.Gate.ask("Change ticket for {runbook} {version}?")
    stamp = ob.Remote(
        "echo {answers.ticket} {run_id} {runbook} {host.name} {host.vars.dc} "
        '"$OPSBOOKS_RUN_ID" "$OPSBOOKS_RUNBOOK" > {host.dir}/stamp.txt',
        role="web",
        when='answers.ticket != "none" and version >= "2.0"',
    )
