"""The findings report of a performance investigation, and the follow-up it records."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from opsbooks_playbooks.actions import write_atomic
from opsbooks_playbooks.actions.db.manifest import DbError, DbUsageError
from opsbooks_playbooks.actions.maintenance.perf import compare, flatten

FOLLOW_UPS = ("ticket", "change.request", "nothing")


def _baseline(path: Path) -> dict[str, float] | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return {str(k): float(v) for k, v in data["figures"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DbError(
            f"baseline {path} is not a baseline file ({exc}); move it away and run again to "
            "save a new one"
        ) from None


def report(folder: Path, baseline: Path, pct: float, out: Path, *, run: str = "") -> str:
    """Compare the figures with the baseline and write the Markdown findings report.

    With no baseline file yet, the figures become the baseline and nothing is a finding.
    """
    if pct <= 0:
        raise DbUsageError(f"--regression-pct must be above 0, got {pct}")
    now = flatten(folder)
    if not now:
        raise DbError(f"no figures in {folder}; the collection steps wrote nothing")
    base = _baseline(baseline)
    saved = base is None
    if base is None:
        data = {"taken": dt.datetime.now(dt.UTC).isoformat(), "run": run, "figures": now}
        write_atomic(baseline, json.dumps(data, indent=2, sort_keys=True).encode())
        base = now
    findings = compare(now, base, pct)
    lines = [f"# Performance investigation {run}".rstrip(), ""]
    lines.append(f"Figures from `{folder}`, baseline `{baseline}`, regression threshold {pct:g}%.")
    if saved:
        lines.append("No baseline existed: these figures were saved as the baseline.")
    lines += ["", "## Findings", ""]
    lines += [f"- {f}" for f in findings] or ["- none: every figure within the threshold"]
    lines += ["", "## Figures", "", "| figure | now | baseline |", "| --- | --- | --- |"]
    lines += [f"| {k} | {v:g} | {base.get(k, float('nan')):g} |" for k, v in sorted(now.items())]
    write_atomic(out, ("\n".join(lines) + "\n").encode())
    verdict = "regressed" if findings else "ok"
    printed = [f"{len(findings)} finding(s); report {out}", *findings]
    printed += [
        f"::output findings={len(findings)}",
        f"::output verdict={verdict}",
        f"::output report={out}",
        f"::metric findings={len(findings)}",
    ]
    return "\n".join(printed)


def followup(out: Path, decision: str, run: str) -> str:
    """Append the decision to the report; draft the ticket or change request it asks for."""
    if decision not in FOLLOW_UPS:
        raise DbUsageError(f"decision {decision!r}: use one of {', '.join(FOLLOW_UPS)}")
    if not out.is_file():
        raise DbError(f"no report {out}; run the report step first")
    text = out.read_text()
    marker = "\n## Decision\n"
    if marker not in text:
        text += f"{marker}\nFollow-up decided in run {run}: **{decision}**.\n"
        write_atomic(out, text.encode())
    if decision == "nothing":
        return f"decision recorded in {out}: no follow-up"
    kind = "Ticket" if decision == "ticket" else "Change request"
    draft = out.with_name(out.stem + f".{decision}.md")
    if not draft.exists():
        findings = text.split("## Findings", 1)[1].split("## Figures", 1)[0].strip()
        write_atomic(
            draft,
            (
                f"# {kind}: performance regression found by run {run}\n\n"
                f"- Owner: (assign before filing)\n- Report: {out}\n\n"
                f"## Findings\n\n{findings}\n"
            ).encode(),
        )
    return f"decision recorded in {out}; {kind.lower()} draft in {draft}"
