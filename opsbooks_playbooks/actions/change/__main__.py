"""Change actions: drain and reopen a server, check a package against a fix, review tickets.

``python -m opsbooks_playbooks.actions.change drain --upstream /etc/nginx/conf.d/app.conf
--server 10.0.0.7:8080 --flag /srv/app/maintenance --reason CHG-1234``
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Literal

from opsbooks.actions import Arg, Result
from opsbooks_playbooks.actions import ActionError, no_option_arg, plain_name, program, write_atomic
from opsbooks_playbooks.actions.change import traffic, utc_text
from opsbooks_playbooks.actions.change.versions import installed_version, older_than

cli = program("change", __doc__)


@cli.command
def drain(
    upstream: Path,
    server: Annotated[str, Arg(type=no_option_arg, help="address as in the upstream file")],
    flag: Path,
    reason: str,
) -> str:
    """Mark the server down in the upstream file and raise the maintenance flag."""
    return traffic.drain(upstream, server, flag, reason)


@cli.command
def reopen(
    upstream: Path,
    server: Annotated[str, Arg(type=no_option_arg, help="address as in the upstream file")],
    flag: Path,
) -> str:
    """Put the server back into the upstream file and remove the maintenance flag."""
    return traffic.reopen(upstream, server, flag)


@cli.command
def affected(
    ecosystem: Literal["dpkg", "python", "file"],
    package: Annotated[str, Arg(type=no_option_arg, help="package, distribution or file")],
    fixed: Annotated[str, Arg(type=no_option_arg, help="first version with the fix")],
    require_fixed: bool = False,
) -> Result:
    """Compare the installed version with the fixed one; publish installed and affected."""
    version = installed_version(ecosystem, package)
    vulnerable = older_than(ecosystem, version, fixed)
    if vulnerable and require_fixed:
        raise ActionError(f"{package} is still at {version}, older than the fixed {fixed}")
    verdict = "AFFECTED: older than" if vulnerable else "not affected: at or above"
    said = f"{package} {version} ({ecosystem}) is {verdict} the fixed version {fixed}"
    if require_fixed:  # a verification: its exit status is the verdict, nothing to publish
        return Result(said)
    return Result(said, outputs={"installed": version, "affected": "yes" if vulnerable else "no"})


@cli.command(name="review-ticket")
def review_ticket(
    directory: Annotated[Path, Arg(name="--dir", help="folder of review tickets")],
    change: Annotated[str, Arg(type=no_option_arg, help="change id, e.g. CHG-1234")],
    days: int,
    summary: str,
    approver: str = "",
    run_id: str = "",
) -> Result:
    """Write the post-implementation review ticket of an emergency change, due in N days."""
    if not 1 <= days <= 30:
        raise ActionError(f"--days {days}: a post-review is due within 1 to 30 days")
    name = plain_name(f"{change}-review.json", "review ticket")
    path = directory / name
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    due = (now + dt.timedelta(days=days)).date().isoformat()
    if path.exists():  # a resumed or repeated run keeps the first ticket and its due date
        due = str(json.loads(path.read_text())["due"])
        text = f"review ticket {path} already exists, due {due}"
    else:
        ticket = {
            "change": change,
            "kind": "emergency change post-implementation review",
            "summary": summary,
            "approved_by": approver,
            "opened": utc_text(now),
            "due": due,
            "run_id": run_id,
            "status": "open",
            "questions": [
                "Why could this change not wait for the normal approval path?",
                "Did it work, and what did it break?",
                "What would have let us catch or prevent the need for it?",
            ],
        }
        write_atomic(path, (json.dumps(ticket, indent=2) + "\n").encode())
        text = f"review ticket {path} opened, due {due}"
    return Result(
        f"{text}\n::fact change.review_due={due}",
        outputs={"review_ticket": str(path), "review_due": due},
    )


if __name__ == "__main__":
    raise SystemExit(cli.main())
