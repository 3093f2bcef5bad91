"""``python -m opsbooks_playbooks.actions.monitoring``: the monitoring runbooks' checks and reports.

Exit status: 0 done; 1 a check failed or a server could not be reached (one line on
stderr says which and what to do); 2 bad usage (a bad flag, file or duration).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Literal

from opsbooks.actions import Arg, Result, output_lines
from opsbooks_playbooks.actions import ActionError, in_state_dir, program
from opsbooks_playbooks.actions.monitoring import alerts as am
from opsbooks_playbooks.actions.monitoring import capacity as cap
from opsbooks_playbooks.actions.monitoring import figures as fig
from opsbooks_playbooks.actions.monitoring import monitors as mon
from opsbooks_playbooks.actions.monitoring.api import (
    Alertmanager,
    Prometheus,
    base_url,
    duration,
    iso,
    when,
)

cli = program("monitoring", __doc__)
_URL = Arg(help="http://host:port of the server")


@cli.command
def monitors(
    vendor: Literal["prometheus", "datadog", "newrelic", "splunk"],
    export: Annotated[list[Path], Arg(help="exported configuration file (repeat for several)")],
    required: Annotated[
        str, Arg(help="JSON list of required monitors (empty: the built-in list)")
    ] = "",
) -> str:
    """Check a vendor's exported monitors against the required list."""
    found = [m for path in export for m in mon.read_export(vendor, path)]
    need = mon.load_required(required)
    missing = mon.problems(vendor, found, need)
    if missing:
        raise ActionError(
            f"{vendor}: {len(missing)} required monitor(s) missing or too lax: "
            + "; ".join(missing)
        )
    return f"{vendor}: all {len(need)} required monitors present with their thresholds"


@cli.command(name="read-alerts")
def read_alerts(
    alertmanager: Annotated[str, _URL],
    save: Annotated[
        Path,
        Arg(
            help="where to keep the alerts read, for the next steps (a relative path is "
            "in the run's state directory: $OPSBOOKS_STATE_DIR, else ./.opsbooks)"
        ),
    ],
    match: Annotated[list[str], Arg(help="only alerts with label NAME=VALUE (repeatable)")] = [],  # noqa: B006
) -> Result:
    """List the firing alerts, most severe first; save those the most severe one's
    runbook handles (the others are left firing for the next run)."""
    found = am.ordered(
        am.matching(Alertmanager(base_url(alertmanager, "Alertmanager")).firing(), match)
    )
    chosen = am.first_group(found)
    top = am.labels(found[0]) if found else {}
    am.save(in_state_dir(save), chosen)
    rows = [
        f"{a['labels'].get('alertname', '?')} severity={a['labels'].get('severity', '?')} "
        f"since {a.get('startsAt', '?')} runbook={a['labels'].get('runbook', '-')}"
        for a in found
    ]
    outputs = {
        "alert_count": len(chosen),
        "pending": len(found) - len(chosen),
        "alertname": top.get("alertname", ""),
        "alert_runbook": top.get("runbook", ""),
        "alert_severity": top.get("severity", ""),
        "alert_started": str(found[0].get("startsAt", "")) if found else "",
    }
    text = "\n".join(rows) if rows else "no firing alert (unsilenced) in Alertmanager"
    head = f"{len(found)} firing alert(s); {len(chosen)} for {top.get('runbook') or 'no runbook'}"
    return Result(f"{head}:\n{text}" if rows else text, outputs)


@cli.command(name="silence")
def silence(
    alertmanager: Annotated[str, _URL],
    alerts: Annotated[
        Path, Arg(help="the alerts saved by read-alerts (relative: in the state directory)")
    ],
    comment: Annotated[str, Arg(help="why: the run and the incident")],
    hours: Annotated[float, Arg(help="how long the silence lasts")] = 2.0,
    author: Annotated[str, Arg(help="createdBy (empty: the operator)")] = "",
) -> str:
    """Acknowledge each saved alert with a silence matching all its labels."""
    if not 0 < hours <= 72:
        raise ActionError(f"a silence of {hours}h is refused: give 0 < hours <= 72")
    client = Alertmanager(base_url(alertmanager, "Alertmanager"))
    now, who, ids = time.time(), author or am.operator(), []
    for alert in am.load(in_state_dir(alerts)):
        ids.append(
            client.silence(
                am.matchers(alert), starts=now, ends=now + hours * 3600, author=who, comment=comment
            )
        )
    text = f"{len(ids)} silence(s) by {who} until {iso(now + hours * 3600)}: {', '.join(ids)}"
    return text + "\n" + output_lines({"silences": ",".join(ids)})


@cli.command
def unsilence(
    alertmanager: Annotated[str, _URL],
    ids: Annotated[str, Arg(help="silence ids, comma-separated, as silence printed them")],
) -> str:
    """Expire silences (the undo of silence): the alerts notify again."""
    client = Alertmanager(base_url(alertmanager, "Alertmanager"))
    done = [client.expire(i) for i in ids.split(",") if i.strip()]
    return f"expired {len(done)} silence(s): {', '.join(done) or 'none'}"


@cli.command
def performance(
    prometheus: Annotated[str, _URL],
    job: str,
    baseline: Path,
    mode: Literal["record", "compare"],
    window: str = "5m",
    at: Annotated[str, Arg(help="evaluate at this RFC 3339 time (empty: now)")] = "",
    tolerance: Annotated[float, Arg(help="relative change allowed in rate and latency")] = 0.2,
    error_points: Annotated[
        float, Arg(help="rise allowed in the error ratio (0.01 = 1 point)")
    ] = 0.01,
) -> Result:
    """Record a performance baseline, or compare the current figures with it."""
    duration(window)
    instant = when(at, time.time())
    now = fig.measure(Prometheus(base_url(prometheus, "Prometheus")), job, window, instant)
    shown = ", ".join(f"{k}={v:.4g}" for k, v in now.items())
    if mode == "record":
        fig.save_baseline(baseline, job, window, instant, now)
        return Result(f"baseline of {job} at {iso(instant)} written to {baseline}: {shown}", now)
    base = fig.load_baseline(baseline)
    worse = fig.regressions(base["figures"], now, tolerance, error_points)  # type: ignore[arg-type]
    if worse:
        raise ActionError(
            f"performance regression of {job} against the baseline of {base['at']}: "
            + "; ".join(worse)
        )
    return Result(
        f"{job} at {iso(instant)} is within tolerance of the baseline of {base['at']}: {shown}", now
    )


@cli.command
def capacity(
    prometheus: Annotated[str, _URL],
    job: str,
    report: Path,
    path: Annotated[list[str], Arg(help="local mount point to check with df (repeatable)")] = [],  # noqa: B006
    lookback: str = "7d",
    disk: float = 0.85,
    memory: float = 0.9,
    load: Annotated[float, Arg(help="15-minute load per CPU")] = 1.0,
    horizon_days: float = 30.0,
) -> Result:
    """Collect disk, memory and CPU figures and growth trends; write the Markdown report."""
    now = time.time()
    figures = [
        *cap.local_disks(path or ["/"], disk),
        cap.local_memory(memory),
        cap.local_load(load),
    ]
    figures += cap.trends(
        Prometheus(base_url(prometheus, "Prometheus")), job, duration(lookback), now, disk, memory
    )
    text = cap.report(figures, now, horizon_days)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(text)
    soon = [f for f in figures if f.reaches is not None and f.reaches - now <= horizon_days * 86400]
    over = [f.resource for f in figures if f.over]
    first = min(soon, key=lambda f: f.reaches or now) if soon else None
    outputs = {
        "triggers": len(soon),
        "over": ",".join(over) or "none",
        "first_trigger": f"{first.resource} on {cap.day(first.reaches or now)}"
        if first
        else "none",
    }
    return Result(f"report written to {report}\n{text}", outputs)


@cli.command
def sla(
    job: str,
    target: Annotated[float, Arg(help="SLO, e.g. 0.999")],
    window: str = "30d",
    prometheus: Annotated[str, _URL] = "",
    source: Literal["up", "requests", "history"] = "up",
    history: Annotated[str, Arg(help="health-check history file (source=history)")] = "",
    at: str = "",
    fast: Annotated[float, Arg(help="1h burn rate that pages")] = 14.4,
    slow: Annotated[float, Arg(help="6h burn rate that opens a ticket")] = 6.0,
) -> Result:
    """Compute availability and the error budget left against the SLO, with a verdict."""
    if not 0 < target < 1:
        raise ActionError(f"target {target} is not a ratio between 0 and 1 (e.g. 0.999)")
    seconds, instant = duration(window), when(at, time.time())
    value = _availability(job, window, seconds, instant, source, prometheus, history)
    burns = [
        fig.Budget(
            _availability(job, name, span, instant, source, prometheus, history), target, span
        ).burn_rate
        for name, span in fig.BURN_WINDOWS
    ]
    budget = fig.Budget(value, target, seconds)
    verdict = budget.verdict((burns[0], burns[1]), fast, slow)
    text = (
        f"{job} availability {100 * value:.3f}% over {window} against SLO {100 * target:g}%: "
        f"budget {budget.budget_seconds / 60:.1f} min, spent {budget.spent_seconds / 60:.1f} min, "
        f"{100 * budget.remaining_ratio:.1f}% left, burn rate {budget.burn_rate:.2f} "
        f"(1h {burns[0]:.2f}, 6h {burns[1]:.2f}): {verdict}"
    )
    outputs = {
        "availability": round(value, 6),
        "budget_left": round(budget.remaining_ratio, 4),
        "burn_rate": round(budget.burn_rate, 3),
        "verdict": verdict,
    }
    return Result(text, outputs)


def _availability(
    job: str,
    window: str,
    seconds: float,
    instant: float,
    source: str,
    prometheus: str,
    history: str,
) -> float:
    if source == "history":
        return fig.history_availability(Path(history), instant - seconds, instant)
    expr = fig.availability_query(job, window, source)
    found = Prometheus(base_url(prometheus, "Prometheus")).scalar(expr, instant)
    if found is None:
        raise ActionError(f"no data for `{expr}` at {iso(instant)}: is job {job!r} scraped?")
    return found


if __name__ == "__main__":
    raise SystemExit(cli.main())
