"""How each step kind reads on a page and in a dry run: one renderer entry per kind.

The page and dry-run renderers write what every step has (title, command, retry,
undo) and ask the entry of the step's kind for the rest. A new kind registers its
entry with ``register_renderer`` (through ``opsbooks.register_step_kind``); a kind
with no entry renders with the generic one, from the common fields only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from opsbooks.define.policies import human
from opsbooks.define.specs import CheckSpec, CommandStepSpec, GateSpec, NotifySpec, RemoteSpec
from opsbooks.define.subrun import SubRunSpec
from opsbooks.plan.binding import Plan, PlannedStep
from opsbooks.render import remote
from opsbooks.render.cases import cases_body, cases_dry
from opsbooks.render.diagnosis import diagnosis_body, diagnosis_dry
from opsbooks.render.gate_options import gate_options
from opsbooks.render.md_text import block, prose

Lines = Callable[[PlannedStep], list[str]]
PageLines = Callable[[PlannedStep, Plan], list[str]]


def _none(_planned: PlannedStep) -> list[str]:
    return []


def _no_page(_planned: PlannedStep, _plan: Plan) -> list[str]:
    return []


@dataclass(frozen=True)
class KindRenderer:
    """A kind's words: its label on the page and in the dry run, and its own lines.

    ``facts`` are bullet lines under the step heading; ``body`` paragraphs replace the
    generic text paragraph when given; ``dry_run`` lines go under the dry-run entry;
    ``command_lead`` introduces the step's command on the page.
    """

    label: str
    dry_label: str = ""
    facts: Lines = field(default=_none)
    body: PageLines | None = None
    dry_run: Lines | None = None
    command_lead: str = "Run:"


_RENDERERS: dict[str, KindRenderer] = {}


def register_renderer(kind: str, renderer: KindRenderer) -> None:
    """Use ``renderer`` for every planned step of ``kind`` (replacing any before)."""
    _RENDERERS[kind] = renderer


def renderer_for(kind: str) -> KindRenderer:
    return _RENDERERS.get(kind) or KindRenderer(label=kind, dry_label=kind)


# -- built-in kinds ---------------------------------------------------------------------


def _gate_body(planned: PlannedStep, _plan: Plan) -> list[str]:
    spec: GateSpec = planned.spec
    mode = {
        "confirm": "confirm (a person approves to continue)",
        "ask": "ask (a person types an answer)",
        "choose": "choose (a person picks one option)",
    }[spec.mode]
    out = [f"Prompt: **{prose(planned.text or '')}**", "", f"- Mode: {mode}"]
    if spec.choices:
        out.append("- Choices: " + ", ".join(f"`{c}`" for c in spec.choices))
    if spec.answer_type is not None and spec.mode == "ask":
        out.append(f"- Answer type: `{getattr(spec.answer_type, '__name__', spec.answer_type)}`")
    if spec.pattern:
        out.append(f"- Answer must match: `{spec.pattern}`")
    if spec.phrase:
        out.append(f"- To approve, type exactly: `{spec.phrase}`")
    if spec.default is not None:
        out.append(f"- Default answer: `{spec.default}`")
    if spec.timeout is not None:
        then = (
            f"continue with the default `{spec.default}`"
            if spec.on_timeout == "default"
            else "stop the run (resumable)"
        )
        out.append(f"- If nobody answers within {human(spec.timeout)}: {then}")
    if spec.rollback_on_decline:
        out.append("- Declining rolls back the steps already done")
    out.extend(f"- {line}" for line in gate_options(planned, _plan))
    return ["\n".join(out)]


def _gate_dry(planned: PlannedStep) -> list[str]:
    spec: GateSpec = planned.spec
    asks = {"confirm": "asks to confirm", "ask": "asks for a value", "choose": "asks to choose"}
    out = [f"{asks[spec.mode]}: {planned.text}"]
    if spec.choices:
        out.append(f"choices: {', '.join(spec.choices)}")
    if spec.phrase:
        out.append(f"requires typing: {spec.phrase}")
    return out  # the dry run adds gate_options itself: it has the plan, to list what a no skips


def _step_link(step_id: str, the_plan: Plan) -> str:
    return f"[{the_plan.get(step_id).title}](#step-{step_id})"


def _branch_body(planned: PlannedStep, the_plan: Plan) -> list[str]:
    spec = planned.spec
    if spec.cases:
        return cases_body(spec, lambda target: _step_link(target, the_plan))
    out = [f"Route on `{spec.on}`:", ""]
    for value, target in spec.routes.items():
        out.append(f"- `{value}` → {_step_link(target, the_plan)}")
    if spec.default:
        out.append(f"- anything else → {_step_link(spec.default, the_plan)}")
    else:
        out.append("- anything else → continue with the next step")
    return ["\n".join(out)]


def _notify_body(planned: PlannedStep, _plan: Plan) -> list[str]:
    spec: NotifySpec = planned.spec
    return [f"Send to channel `{spec.channel}`:", block(planned.text or "", quote=True)]


def _remote_facts(planned: PlannedStep) -> list[str]:
    spec: RemoteSpec = planned.spec
    return remote.facts(spec)


def _remote_dry(planned: PlannedStep) -> list[str]:
    spec: RemoteSpec = planned.spec
    return ([planned.text] if planned.text else []) + remote.dry_run(spec)


def _command_facts(planned: PlannedStep) -> list[str]:
    spec: CommandStepSpec = planned.spec
    return [f"- **Working directory:** `{spec.cwd}`"] if spec.cwd else []


def _wait_facts(planned: PlannedStep) -> list[str]:
    spec: CheckSpec = planned.spec
    return [f"- **Polling:** {spec.poll.describe()}"] if spec.poll else []


def _wait_dry(planned: PlannedStep) -> list[str]:
    spec: CheckSpec = planned.spec
    polls = [f"polls {spec.poll.describe()}"] if spec.poll else []
    return ([planned.text] if planned.text else []) + polls


def _subrun_body(planned: PlannedStep, _plan: Plan) -> list[str]:
    """A linked run: a link to the child's page, and the params it is started with."""
    spec: SubRunSpec = planned.spec
    short = spec.runbook.split(".", 1)[-1]
    out = [f"Starts a linked run of [`{spec.runbook}`](../{spec.category}/{short}.md)"]
    if spec.chosen_by:  # named at run time, looked up in the catalog then
        found = f"`{spec.runbook}`, found in the catalog when the step runs"
        out = [f"Starts a linked run of {spec.chosen_by} ({found})"]
    out[0] += " (its own run id, journal, lock and audit; this step succeeds iff it does)."
    if spec.shown:
        out += ["", *(f"- `{name}` = `{value}`" for name, value in spec.shown)]
    return ["\n".join(out)]


def _subrun_dry(planned: PlannedStep) -> list[str]:
    return [planned.text] if planned.text else []


def _verify_body(planned: PlannedStep, _plan: Plan) -> list[str]:
    return []


def _verify_after(planned: PlannedStep) -> list[str]:
    return [f"Expect: {prose(planned.text)}"] if planned.text else []


_BUILT_IN = {
    "command": KindRenderer("automated", "automated", facts=_command_facts),
    "python": KindRenderer("automated", "automated (Python)"),
    "manual": KindRenderer("manual", "manual: a person does this and confirms"),
    "gate": KindRenderer("gate", "gate: a person decides", body=_gate_body, dry_run=_gate_dry),
    "wait": KindRenderer(
        "wait",
        "wait",
        facts=_wait_facts,
        dry_run=_wait_dry,
        command_lead="Wait until this succeeds:",
    ),
    "verify": KindRenderer(
        "verification",
        "verification",
        body=_verify_body,
        command_lead="Check:",
    ),
    "notify": KindRenderer("notify", "notification", body=_notify_body),
    "branch": KindRenderer("branch", "branch", body=_branch_body, dry_run=cases_dry),
    "subrun": KindRenderer("linked run", "linked run", body=_subrun_body, dry_run=_subrun_dry),
    "diagnosis": KindRenderer(
        "diagnosis", "diagnosis: ends the run", body=diagnosis_body, dry_run=diagnosis_dry
    ),
}
for _kind in ("remote", "upload", "download"):
    _BUILT_IN[_kind] = KindRenderer(
        _kind,
        _kind,
        facts=_remote_facts,
        dry_run=_remote_dry,
        command_lead="Run on each host:",
    )
for _kind, _label, _lead in (
    ("remote_verify", "verification on hosts", "Check on each host:"),
    ("remote_wait", "wait on hosts", "Wait on each host until this succeeds:"),
):
    _BUILT_IN[_kind] = KindRenderer(
        _label, _label, facts=_remote_facts, dry_run=_remote_dry, command_lead=_lead
    )
_RENDERERS.update(_BUILT_IN)

#: Page lines that follow the command (a verification's expectation).
AFTER_COMMAND: dict[str, Lines] = {"verify": _verify_after}
