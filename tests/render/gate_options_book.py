"""A synthetic runbook using the gate options and step hooks, for its golden page."""

from __future__ import annotations

import opsbooks as ob


class GateOptions(ob.Runbook):
    """Pin how an optional confirm and `--yes` defaults render; it also defines hooks."""

    name = "fixtures.gate_options"
    title = "Gate Options"
    owner = "Docs team"
    scope = "The renderer's golden tests only; never run against real systems."
    last_reviewed = "2026-11-01"

    batch = ob.Gate.ask("How many hosts per batch?", int, default=2, yes_default=True)
    where = ob.Gate.choose("Which region first?", ["eu", "us"], default="eu", yes_default=True)
    deploy = ob.Command("deploy --region eu")
    warm = ob.Gate.confirm("Warm the caches as well?", on_decline="skip")
    warm_caches = ob.Command("warm-caches", when="warm")
    announce = ob.Notify("Deployed")

    def around_step(
        self, ctx: ob.StepContext, step: ob.StepView, proceed: object
    ) -> ob.StepOutcome | ob.Skip:
        """Named in the page's overview; hooks observe steps, they do not change them."""
        return ob.Skip("never runs in the golden test")
