"""The report's "Approvals" section: every signed decision on the run's gates.

Each row is what the journal holds: the decision, the principal its signature verified
as (``(unverified)`` when it did not), whether it was accepted and why, and each wait's
request and how it ended. Pure text from records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from opsbooks.define.approvals import CLOSED, REQUEST, VERDICT, WaitingGate
from opsbooks.records.journal import ApprovalRecord


def approval_data(rows: list[ApprovalRecord]) -> dict[str, Any]:
    """The report's ``approvals`` key (absent without approval rows); payload and
    signature are included, so an auditor can verify them again."""
    return {"approvals": [asdict(row) for row in rows]} if rows else {}


def approvals_section(rows: list[dict[str, Any]]) -> list[str]:
    """The Markdown section; none when the run had no gate with approvers.

    Beside each decision: whether the waiting run, which verified the signature itself,
    counted it, as whom, and why; a decision no run was waiting for has no verdict.
    """
    if not rows:
        return []
    verdicts = {str(r["payload"]): r for r in rows if r["decision"] == VERDICT}
    lines = [
        "",
        "## Approvals",
        "",
        "| Gate | Decision | Signer (as journaled) | Approving side | Waiting run (verified) "
        "| Why | Reason | At |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row["decision"] == VERDICT:
            continue
        verdict = verdicts.get(str(row["seq"]))
        why = verdict["why"] if verdict else row["why"]
        lines.append(
            f"| `{row['step_id']}` | {_decision(row)} | {_cell(row['principal'])} | "
            f"{_side(row)} | {_verified(row, verdict)} | {_cell(why)} | "
            f"{_cell(row['reason'])} | {_when(row['at'])} |"
        )
    return lines


def _side(row: dict[str, Any]) -> str:
    if row["decision"] in (REQUEST, CLOSED):
        return ""
    return "accepted" if row["accepted"] else "**refused**"


def _verified(row: dict[str, Any], verdict: dict[str, Any] | None) -> str:
    if row["decision"] in (REQUEST, CLOSED):
        return ""
    if verdict is None:
        return "-"
    return f"counted: {verdict['principal']}" if verdict["accepted"] else "**not counted**"


def _decision(row: dict[str, Any]) -> str:
    if row["decision"] == REQUEST:
        try:
            wait = WaitingGate.decode(row["payload"])
        except (TypeError, ValueError):
            return "request"
        eyes = ", four-eyes" if wait.four_eyes else ""
        return f"request: {wait.quorum} of role {wait.role}{eyes}"
    if row["decision"] == CLOSED:
        return "wait ended"
    return str(row["decision"])


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
