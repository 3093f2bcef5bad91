"""One run as a committable record (Markdown or JSON) for change tickets and postmortems.

Pure: takes journal records, returns text. Secrets were redacted before they were
journaled, so nothing here can reveal one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Any

from opsbooks.define.policies import human
from opsbooks.records.journal import (
    ApprovalRecord,
    FactRecord,
    GateRecord,
    HostRecord,
    RunRecord,
    Transition,
)
from opsbooks.render.approvals import approval_data, approvals_section
from opsbooks.render.diagnosis import reached_lines
from opsbooks.render.md_text import fence
from opsbooks.render.sections import report_rows


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", "<br>")


def _question(prompt: str) -> str:
    """What was asked, in one line: what a change ticket shows was approved."""
    return " ".join(prompt.split())


def report_data(
    run: RunRecord,
    transitions: list[Transition],
    gates: list[GateRecord],
    hosts: list[HostRecord],
    commands: dict[str, str],
    sections: dict[str, str] | None = None,
    facts: list[FactRecord] | None = None,
    approvals: list[ApprovalRecord] | None = None,
) -> dict[str, Any]:
    """The run's record; ``sections`` (id -> numbered heading) groups its steps;
    ``facts`` are the milestones and values its steps established."""
    steps: dict[str, dict[str, Any]] = {}
    for t in transitions:
        entry = steps.setdefault(t.step_id, {"step": t.step_id, "command": commands.get(t.step_id)})
        if t.detail.get("command"):
            entry["command"] = t.detail["command"]
        entry.update(
            status=t.status.value,
            exit_code=t.exit_code,
            duration=t.duration,
            attempts=t.attempt,
            output_tail=t.output_tail,
            reason=t.reason,
        )
        if t.detail.get("undo"):
            entry["undo"] = t.detail["undo"]
        if t.detail.get("mark_done"):
            entry["marked_done_by"] = t.who
        if t.detail.get("note"):
            entry["note"] = t.detail["note"]
        if t.detail.get("child_run"):  # a SubRun: the linked run it started
            entry["child_run"] = t.detail["child_run"]
            entry["child_runbook"] = t.detail.get("child_runbook", entry.get("child_runbook"))
    return {
        "run": asdict(run),
        "steps": list(steps.values()),
        "transitions": [asdict(t) | {"status": t.status.value} for t in transitions],
        "gates": [asdict(g) | {"waited": g.answered_at - g.asked_at} for g in gates],
        "hosts": [asdict(h) for h in hosts],
        "facts": [asdict(f) for f in facts or ()],
        **approval_data(approvals or []),  # only when the run had approval gates
    } | ({"sections": sections} if sections else {})


def render_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"


def render_markdown(data: dict[str, Any]) -> str:
    """The run as Markdown: summary, parameters, steps, gate decisions, rollback, hosts."""
    steps = data["steps"]
    sections = [
        _summary(data["run"]) + reached_lines(data.get("facts") or []),
        _parameters(data["run"]["params"]),
        _steps(steps, data.get("sections") or {}) + _details(steps) + _notes(steps, data["hosts"]),
        linked_runs(steps),
        _facts(data.get("facts") or []),
        _gates(data["gates"]),
        approvals_section(data.get("approvals") or []),
        _rollback(steps),
        _hosts(data["hosts"]),
    ]
    return "\n".join(line for section in sections for line in section) + "\n"


def _summary(run: dict[str, Any]) -> list[str]:
    duration = human(run["ended_at"] - run["started_at"]) if run["ended_at"] else "-"
    lines = [
        f"# Run {run['id']}: {run['runbook']}",
        "",
        f"- Outcome: **{run['outcome']}**"
        + (f" at step `{run['failed_step']}`" if run["failed_step"] else ""),
        f"- Run by: {run['who']} on {run['host']}",
        f"- Started: {_when(run['started_at'])}; ended: {_when(run['ended_at'])}; "
        f"duration: {duration}",
        f"- Definition: `{run['fingerprint']}`",
    ]
    if run["reason"]:
        lines.append(f"- Reason: {run['reason']}")
    if run["outcome"] not in ("succeeded", "succeeded_with_warnings", "running"):
        lines.append(f"- To resume: `opsbooks resume {run['id']}`")
    if run["metrics"]:
        lines.append("- Measured: " + ", ".join(f"{k} = {v}" for k, v in run["metrics"].items()))
    return lines


def _parameters(params: dict[str, Any]) -> list[str]:
    lines = ["", "## Parameters", ""]
    if not params:
        return [*lines, "None."]
    lines += ["| Parameter | Value |", "| --- | --- |"]
    return lines + [f"| `{k}` | {_cell(v)} |" for k, v in params.items()]


def _steps(steps: list[dict[str, Any]], sections: dict[str, str]) -> list[str]:
    lines = [
        "",
        "## Steps",
        "",
        "| Step | Status | Command | Exit | Duration | Attempts |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    return lines + report_rows(steps, sections, _step_row)  # a bold row per section


def _step_row(step: dict[str, Any]) -> str:
    command = f"`{_cell(step['command'])}`" if step.get("command") else ""
    took = human(step["duration"]) if step.get("duration") is not None else ""
    exit_code = "" if step.get("exit_code") is None else str(step["exit_code"])
    return (
        f"| `{step['step']}` | {step['status']} | {command} | {exit_code} | "
        f"{took} | {step.get('attempts') or ''} |"
    )


def _details(steps: list[dict[str, Any]]) -> list[str]:
    """Why each step that did not succeed stopped, with its output tail."""
    failures = [s for s in steps if s.get("reason") and s["status"] != "succeeded"]
    if not failures:
        return []
    lines = ["", "### Details", ""]
    for step in failures:
        lines.append(f"- `{step['step']}`: {step.get('reason') or step['status']}")
        if step.get("output_tail"):
            tail = [f"  {x}" for x in step["output_tail"].splitlines()]
            lines += ["", "  ```", *tail, "  ```", ""]
    return lines


def _notes(steps: list[dict[str, Any]], hosts: list[dict[str, Any]]) -> list[str]:
    """The notes the run printed as its steps started (none: no section).

    A note naming ``{host.name}`` was printed once per host, bound for it; the journal
    holds it as planned, so the report shows it once per host the step ran on, with
    the name filled in (other ``{host.*}`` fields stay as written: the report has no
    inventory).
    """
    noted = [s for s in steps if s.get("note")]
    if not noted:
        return []
    lines = ["", "### Notes", ""]
    for step in noted:
        note = str(step["note"])
        on = list(dict.fromkeys(h["host"] for h in hosts if h["step_id"] == step["step"]))
        if "{host." not in note or not on:
            lines.append(f"- `{step['step']}`: {_cell(note)}")
            continue
        for host in on:
            lines.append(
                f"- `{step['step']}` on {host}: {_cell(note.replace('{host.name}', host))}"
            )
    return lines


def linked_runs(steps: list[dict[str, Any]]) -> list[str]:
    """The runs ``SubRun`` steps started (none: no section), each with its report command."""
    linked = [s for s in steps if s.get("child_run")]
    lines = ["", "## Linked runs", ""] if linked else []
    for s in linked:
        of = f" of {s['child_runbook']}" if s.get("child_runbook") else ""
        lines.append(
            f"- `{s['step']}` started run `{s['child_run']}`{of} ({s['status']}); "
            f"see `opsbooks report {s['child_run']}`"
        )
    return lines


def _facts(facts: list[dict[str, Any]]) -> list[str]:
    """The milestones and values the run established (``marks=``, ``::fact``), if any."""
    if not facts:
        return []
    lines = [
        "",
        "## Facts",
        "",
        "| Fact | Value | When | By | Step |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in facts:
        value = "" if f["value"] is None else _cell(f["value"])
        lines.append(
            f"| `{f['name']}` | {value} | {_when(f['at'])} | {f['who'] or '-'} | `{f['step_id']}` |"
        )
    return lines


def _gates(gates: list[dict[str, Any]]) -> list[str]:
    lines = ["", "## Gate decisions", ""]
    if not gates:
        return [*lines, "None."]
    lines += [
        "| Gate | Question | Answer | Approver | Via | Answered | Waited |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for g in gates:
        lines.append(
            f"| `{g['step_id']}` | {_cell(_question(g['prompt']))} | "
            f"{_cell(g['answer'])} | {g['approver']} | {g['source']} | "
            f"{_when(g['answered_at'])} | {human(g['waited'])} |"
        )
    return lines


def _rollback(steps: list[dict[str, Any]]) -> list[str]:
    undone = [s for s in steps if s.get("undo")]
    lines = ["", "## Rollback", ""]
    if not undone:
        return [*lines, "No undo steps ran."]
    return lines + [f"- `{s['step']}` undone by `{s['undo']}`: {s['status']}" for s in undone]


def _hosts(hosts: list[dict[str, Any]]) -> list[str]:
    if not hosts:
        return []
    lines = [
        "",
        "## Hosts",
        "",
        "| Step | Host | Result | Exit | Duration |",
        "| --- | --- | --- | --- | --- |",
    ]
    for h in hosts:
        result = "ok" if h["ok"] else f"failed: {_cell(h['error'])}"
        took = human(h["duration"]) if h["duration"] is not None else ""
        exit_code = "" if h["exit_code"] is None else h["exit_code"]
        lines.append(f"| `{h['step_id']}` | {h['host']} | {result} | {exit_code} | {took} |")
    return lines + host_output(hosts)


def host_output(hosts: list[dict[str, Any]]) -> list[str]:
    """Each host's last lines (stdout, then stderr), the failing host's own words first."""
    said = sorted((h for h in hosts if h["output_tail"]), key=lambda h: bool(h["ok"]))
    lines = ["", "### Host output"] if said else []
    for h in said:
        state = "ok" if h["ok"] else "failed"
        head = f"`{h['step_id']}` on {h['host']} ({state}):"
        lines += ["", head, "", fence(h["output_tail"], "text")]
    return lines
