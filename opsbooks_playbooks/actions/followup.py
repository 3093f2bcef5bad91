"""Draft the follow-up ticket a rollback owes: what was taken back, where to look, what next.

A machine can write the draft; a person files it and gives it an owner. The draft
names the run (``$OPSBOOKS_RUN_ID``, set by opsbooks for every command) so the
ticket links to the journal and the audit trail. Writing again for the same run
keeps the first draft, so a resumed or repeated run never clobbers edits.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from opsbooks.actions import Arg
from opsbooks_playbooks.actions import plain_name, program, version_arg, write_atomic


def draft_text(bad: str, target: str, run_id: str, runbook: str, today: str) -> str:
    ref = f"run `{run_id}` of `{runbook}`" if run_id else f"a run of `{runbook}`"
    report = f"opsbooks report {run_id}" if run_id else "opsbooks history"
    return f"""# Fix for {bad} (rolled back to {target})

- Opened: {today}
- Owner: (assign before filing)
- Severity: (as in the incident)

## What happened

Release {bad} was taken out of the update feed on {today} by {ref}; users are
offered {target} again. Installed copies of {bad} are not downgraded.

## Evidence

- Run record: `{report}` (steps, gate decisions, who approved)
- Audit trail: `opsbooks audit verify {run_id or "RUN_ID"}`
- The withdrawn release stays in feed.json (`withdrawn: true`), with its tag and artifact.

## To do

- [ ] Root cause of the problem in {bad}
- [ ] Fix, with a test that fails without it
- [ ] Ship it as a new version (release.hotfix from {target}, or release.deploy)
- [ ] Tell the users who installed {bad}
"""


def write(
    folder: Annotated[Path, Arg("--dir", help="folder for ticket drafts")],
    bad: Annotated[str, Arg(type=version_arg, help="the release taken back")],
    target: Annotated[str, Arg(type=version_arg, help="the release offered")],
    today: Annotated[str, Arg("--date", help="YYYY-MM-DD (default: today UTC)")] = "",
) -> str:
    """Write the ticket draft for rolling back ``bad`` to ``target`` into ``folder``."""
    run_id = os.environ.get("OPSBOOKS_RUN_ID", "")
    runbook = os.environ.get("OPSBOOKS_RUNBOOK", "release.rollback")
    today = today or dt.datetime.now(dt.UTC).date().isoformat()
    name = f"{today}-fix-{bad}{'-' + run_id if run_id else ''}.md"
    path = folder / plain_name(name, "the draft's file name")  # --date and the run id are data
    if path.exists():
        return f"{path} already drafted; file it and give it an owner"
    write_atomic(path, draft_text(bad, target, run_id, runbook, today).encode())
    return f"drafted {path}; file it and give it an owner"


PROGRAM = program("followup", __doc__)
PROGRAM.command(write)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.followup``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
