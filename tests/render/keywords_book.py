"""A synthetic runbook whose steps use every shared step keyword, for its golden page."""

from __future__ import annotations

import opsbooks as ob


class StepKeywords(ob.Runbook):
    """Restart the app with notes, tags, failure policies, setup, probes and quiet steps."""

    name = "fixtures.step_keywords"
    title = "Every Shared Step Keyword"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        app: str = ob.Field(default="shop", description="The app to restart")

    login = ob.Command("vault login", setup=True, note="Logging in to the vault...")
    probe = ob.Command("app-version {app}", rerun_on_resume=True, outputs=("version",))
    warm = ob.Command("warm-cache {app}", on_failure="continue", tags=("cache",), quiet=True)
    restart = ob.Remote(
        "systemctl restart {app}",
        role="web",
        note="Restarting {app} {outputs.version} on {host.name}...",
        tags=("restart", "prod"),
    )
    migrate = ob.Command("migrate {app}", on_failure="stop", tags="prod")

    @ob.step(tags="report", on_failure="continue", note="Writing the report")
    def report(self, ctx: ob.StepContext) -> str | None:
        """Summarize what ran."""
        return None
