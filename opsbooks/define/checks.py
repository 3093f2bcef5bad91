"""Definition checks: everything wrong with a runbook class, found when it is defined.

Each check raises ``DefinitionError`` naming the runbook, the step and the fix, so a
mistake fails at import (and in CI), never half-way through a run at 3 a.m.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from opsbooks.define.base import is_remote
from opsbooks.define.checks_diagnosis import check_diagnoses
from opsbooks.define.checks_expressions import (
    LATE_ROOTS,
    check_case_shapes,
    check_conditions,
    check_placeholders,
    host_outside_hosts,
)
from opsbooks.define.checks_gates import check_gate_options
from opsbooks.define.checks_hooks import check_hooks
from opsbooks.define.checks_keywords import check_keywords
from opsbooks.define.checks_per_host import check_per_host
from opsbooks.define.checks_sections import check_sections
from opsbooks.define.checks_subrun import check_subruns
from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.outputs import used as used_outputs
from opsbooks.define.params import Params as ParamsBase
from opsbooks.define.params import secret_fields
from opsbooks.define.sections import scope_of
from opsbooks.define.steps import Branch, Gate, PythonStep, Step, undo_id
from opsbooks.define.template import TemplateError, quoted_fields, roots
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.remote import Remote
    from opsbooks.define.runbook import Runbook


def validate(cls: type[Runbook]) -> None:
    """Raise ``DefinitionError`` for the first thing wrong with ``cls``."""
    name = cls.name
    if not isinstance(cls.Params, type) or not issubclass(cls.Params, ParamsBase):
        raise DefinitionError(name, "Params must be a subclass of opsbooks.Params")
    missing = [
        section
        for section, value in (
            ("purpose (the class docstring)", cls.__doc__),
            ("scope", cls.scope),
            ("owner", cls.owner),
            ("last_reviewed", cls.last_reviewed),
        )
        if not value
    ]
    if missing:
        raise DefinitionError(
            name,
            f"missing required doc section(s): {', '.join(missing)}. Set them as class "
            f"attributes (purpose is the class docstring).",
        )
    try:
        cls.reviewed_on()
    except ValueError:
        raise DefinitionError(
            name, f"last_reviewed={cls.last_reviewed!r} is not a date; write 'YYYY-MM-DD'"
        ) from None
    if not cls.steps:
        raise DefinitionError(name, "has no steps; declare at least one step attribute")
    check_case_shapes(cls)  # before anything reads a branch's cases
    _check_unique_ids(cls)
    check_sections(cls)  # clashes, empty sections, includes (their steps' templates too)
    check_per_host(cls)  # node-first sections: host steps on one target, their roll-out
    check_subruns(cls)  # SubRun children, their params, linked-run cycles
    check_diagnoses(cls)  # Diagnosis leaves: a finding, no undo, a known escalation level
    param_names = set(cls.Params.model_fields)
    every = list(cls.steps) + list(cls.compensations.values())
    gate_ids = {s.id for s in every if isinstance(s, Gate)}
    ids = [s.id for s in cls.steps]
    _check_rto_steps(cls, ids)
    _check_outputs(cls)
    check_hooks(cls)
    secrets = secret_fields(cls.Params)
    for item in every:
        if scope_of(item) is None:  # an included step names its own runbook's params
            check_placeholders(cls, item)  # near misses, answers, secret answers
            _check_templates(cls, item, param_names)
            _check_secrets_off_argv(cls, item, secrets)
        _check_undo(cls, item)
        check_keywords(cls, item)
        check_conditions(cls, item)  # when= and Branch cases (checks_expressions)
        if isinstance(item, Branch):
            _check_branch(cls, item, ids, param_names | gate_ids)
        if isinstance(item, Gate) and item.on_timeout == "default" and item.default is None:
            raise DefinitionError(name, "on_timeout='default' needs a default answer", step=item.id)
        if isinstance(item, Gate):
            check_gate_options(cls, item)
        if is_remote(item):
            _check_remote(cls, item)


def _check_rto_steps(cls: type[Runbook], ids: list[str]) -> None:
    if cls.rto_steps is None:
        return
    start, end = cls.rto_steps
    for step_id in (start, end):
        if step_id not in ids:
            raise DefinitionError(
                cls.name,
                f"rto_steps names {step_id!r}, which is not a step; steps: {', '.join(ids)}",
            )
    if ids.index(start) >= ids.index(end):
        raise DefinitionError(cls.name, f"rto_steps: {start!r} must come before {end!r}")


def _check_unique_ids(cls: type[Runbook]) -> None:
    from opsbooks.define.runbook import Runbook  # defined by the time any subclass is checked

    reserved = {n for n in dir(Runbook) if not n.startswith("_")}
    for item in list(cls.steps) + list(cls.compensations.values()):
        if item.id in reserved:
            raise DefinitionError(
                cls.name,
                f"step id {item.id!r} hides the runbook attribute of that name; rename the "
                f"step (for example {item.id + '_step'!r})",
                step=item.id,
            )
    seen: set[str] = set()
    for item in list(cls.steps) + list(cls.compensations.values()):
        if item.id in seen:
            raise DefinitionError(
                cls.name, "duplicate step id; give each step its own attribute name", step=item.id
            )
        seen.add(item.id)
    if set(cls.Params.model_fields) & seen:
        clash = sorted(set(cls.Params.model_fields) & seen)[0]
        raise DefinitionError(
            cls.name,
            f"step id {clash!r} is also a parameter name; rename one of them",
            step=clash,
        )


def _check_outputs(cls: type[Runbook]) -> None:
    """Each ``{outputs.NAME}`` must be promised by an earlier step (any step, for undos)."""
    if OUTPUTS_ROOT in cls.Params.model_fields:
        raise DefinitionError(
            cls.name, f"{OUTPUTS_ROOT!r} is reserved for step outputs; rename the parameter"
        )
    available: set[str] = set()

    def check(item: Step, names: set[str], where: str) -> None:
        try:
            wanted = used_outputs(item.templates())
        except TemplateError as exc:
            raise DefinitionError(cls.name, str(exc), step=item.id) from None
        for name in wanted:
            if name not in names:
                raise DefinitionError(
                    cls.name,
                    f"{{outputs.{name}}} is not declared by {where}; add "
                    f"outputs=({name!r},) to the step that prints `::output {name}=...` "
                    f"(or name an earlier @step, whose return value is its output)",
                    step=item.id,
                )

    if any(is_remote(item) for item in [*cls.steps, *cls.compensations.values()]):
        # lazy: only a runbook with a host step needs the host checks (and define.remote)
        from opsbooks.define.checks_remote import check_host_outputs

        check_host_outputs(cls)  # a Remote step's outputs have a value per host
    for item in cls.steps:
        for name in item.outputs:
            if not name.isidentifier():
                raise DefinitionError(
                    cls.name, f"output name {name!r} is not an identifier", step=item.id
                )
        check(item, available, "any earlier step")
        available |= set(item.outputs) | ({item.id} if isinstance(item, PythonStep) else set())
    for item in cls.compensations.values():
        check(item, available, "any step")


def _check_templates(cls: type[Runbook], item: Step, param_names: set[str]) -> None:
    allowed = param_names | {OUTPUTS_ROOT} | LATE_ROOTS
    allowed |= {"host"} if is_remote(item) else set()
    for template in item.templates():
        try:
            used = roots(template)
        except TemplateError as exc:
            raise DefinitionError(cls.name, str(exc), step=item.id) from None
        unknown = sorted(used - allowed)
        if unknown == ["host"]:
            raise host_outside_hosts(cls, item, template)
        if unknown:
            known = ", ".join(sorted(allowed - {OUTPUTS_ROOT})) or "none"
            raise DefinitionError(
                cls.name,
                f"template {template!r} refers to unknown parameter {{{unknown[0]}}}; "
                f"known parameters: {known}. Add it to Params or fix the name.",
                step=item.id,
            )
        if item.kind in ("command", "wait", "verify", "remote") and quoted_fields(template):
            field_name = quoted_fields(template)[0]
            raise DefinitionError(
                cls.name,
                f"{{{field_name}}} sits inside quotes in {template!r}; opsbooks quotes "
                f"every value itself, so remove the quotes around the placeholder.",
                step=item.id,
            )


def _command_templates(item: Step) -> list[str]:
    """Templates that become a process's argv (or ``sh -c``'s command string, or a ``cd``)."""
    command: Any = None
    if item.kind in ("command", "remote"):
        command = getattr(item, "command", None)
    elif item.kind in ("verify", "wait"):
        command = getattr(item, "check", None)
    found = [] if command is None or callable(command) else _argv_list(command)
    cwd = getattr(item, "cwd", None) if item.kind == "command" else None
    return found + ([cwd] if isinstance(cwd, str) else [])


def _argv_list(command: Any) -> list[str]:
    return [command] if isinstance(command, str) else [" ".join(str(part) for part in command)]


def _check_secrets_off_argv(cls: type[Runbook], item: Step, secrets: set[str]) -> None:
    """A secret on a command line is readable by every local user (``/proc/PID/cmdline``)."""
    for template in _command_templates(item):
        try:
            used = roots(template)
        except TemplateError:
            continue  # reported by _check_templates
        leaked = sorted(used & secrets)
        if leaked:
            name = leaked[0]
            var = name.upper()
            raise DefinitionError(
                cls.name,
                f"secret {{{name}}} would be on the command line {template!r}, where every "
                f"user of the machine can read it; pass it in the environment instead "
                f'(env={{"{var}": "{{{name}}}"}} and read ${var} in the command), on stdin, '
                f"or in a file only you can read (mode 0600)",
                step=item.id,
            )


def _check_undo(cls: type[Runbook], item: Step) -> None:
    target = undo_id(item)
    if target is None:
        if item.undo_on_failure:
            raise DefinitionError(
                cls.name,
                "undo_on_failure=True but the step has no undo; give it undo=... or drop "
                "undo_on_failure.",
                step=item.id,
            )
        return
    if target not in cls.compensations:
        raise DefinitionError(
            cls.name,
            f"undo={target!r} names no step; define a step with that attribute name "
            f"or pass the undo step itself (undo=Command(...)).",
            step=item.id,
        )


def _check_branch(cls: type[Runbook], item: Branch, ids: list[str], names: set[str]) -> None:
    if not item.case_pairs and item.on not in names:
        raise DefinitionError(
            cls.name,
            f"branch on={item.on!r} is neither a parameter nor a gate of this runbook",
            step=item.id,
        )
    here = ids.index(item.id)
    for target in item.targets():
        if target not in ids:
            raise DefinitionError(
                cls.name,
                f"branch target {target!r} is not a step; route to one of: "
                f"{', '.join(ids[here + 1 :]) or 'no later step'}",
                step=item.id,
            )
        if ids.index(target) <= here:
            raise DefinitionError(
                cls.name,
                f"branch target {target!r} comes before the branch; branches only jump forward",
                step=item.id,
            )


def _check_remote(cls: type[Runbook], item: Remote) -> None:
    # lazy: only a runbook with a host step loads define.remote and these checks
    from opsbooks.define.checks_remote import check_remote_context
    from opsbooks.define.remote import Download

    if item.strategy not in ("parallel", "serial", "batches"):
        raise DefinitionError(
            cls.name, "strategy must be 'parallel', 'serial' or 'batches'", step=item.id
        )
    limit = item.max_failures
    if isinstance(limit, str) and not re.fullmatch(r"\d+(\.\d+)?%", limit):
        raise DefinitionError(
            cls.name,
            f"max_failures={limit!r}: give a count or a percentage like '25%'",
            step=item.id,
        )
    if item.batch_size < 1:
        raise DefinitionError(cls.name, "batch_size must be at least 1", step=item.id)
    if item.workers < 1:
        raise DefinitionError(cls.name, "workers must be at least 1", step=item.id)
    if isinstance(item, Download) and "host" not in roots(item.local):
        raise DefinitionError(
            cls.name,
            f"local={item.local!r} names one file for every host; put {{host.name}} in it "
            f"so each host's copy lands in its own file",
            step=item.id,
        )
    check_remote_context(cls, item)
