"""A canary release decided by numbers: the example of docs/guides/writing-runbooks.md."""

from __future__ import annotations

import opsbooks as ob


class Canary(ob.Runbook):
    """Put a release on the canary, read its error rate, and promote or roll back by it."""

    name = "expr.canary"
    scope = "Expression tests and the guide's example; the commands only write files."
    owner = "sre"
    last_reviewed = "2026-12-01"

    class Params(ob.Params):
        version: str = ob.Field(default="1.10.0", pattern=r"^\d+(\.\d+)*$")
        environment: str = "staging"

    deploy = ob.Command("echo {version} > canary.txt")
    migrate = ob.Command("echo migrated >> canary.txt", when='version >= "1.10.0"')
    measure = ob.Command(
        'echo "::output error_rate=$(cat error_rate.txt)"', outputs=("error_rate",)
    )
    decide = ob.Branch(
        cases=[("outputs.error_rate > 5", "roll_back"), ("outputs.error_rate > 1", "watch")],
        default="promote",
    )
    watch = ob.Gate.choose(
        "Error rate {outputs.error_rate}% on {version}: promote or roll back?",
        ["promote", "roll back"],
    )
    promote = ob.Command(
        "echo promoted {version} by run {run_id} >> canary.txt",
        when='answers.watch != "roll back"',
    )
    roll_back = ob.Command(
        "echo rolled back {version} >> canary.txt",
        when='outputs.error_rate > 5 or answers.watch == "roll back"',
    )
    page_prod = ob.Command(
        "echo paged for {runbook} >> canary.txt",
        when='environment in ["prod", "production"] and outputs.error_rate > 1',
    )
