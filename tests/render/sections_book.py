"""Synthetic runbooks using sections, nesting and ``Include``, for their golden page."""

from __future__ import annotations

import opsbooks as ob


class RestartNginx(ob.Runbook):
    """Restart nginx on one host and check it serves again."""

    name = "fixtures.restart_nginx"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        host: str = ob.Field(description="the host to restart nginx on")

    stop = ob.Command("ssh {host} service nginx stop", undo="start")
    start = ob.Command("ssh {host} service nginx start")
    check = ob.Verify("curl -fsS http://{host}/health")


class Sections(ob.Runbook):
    """Pin how sections, nested sections and an included runbook render."""

    name = "fixtures.sections"
    title = "Sections"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        target: str = ob.Field(default="web1", description="the web host")

    announce = ob.Notify("Restarting nginx on {target}")

    class drain(ob.Section):
        """Drain the host

        Take it out of the load balancer so no request is lost.
        """

        approve = ob.Gate.confirm("Drain {target}?")
        take_out = ob.Command("lb out {target}", undo="put_back", when="approve")
        put_back = ob.Command("lb in {target}")

        class wait(ob.Section):
            """Wait for connections to end"""

            idle = ob.WaitUntil("lb idle {target}", timeout="2m")

    restart = ob.Include(RestartNginx, params={"host": "{target}"})
    undrain = ob.Command("lb in {target}", title="Put the host back")
