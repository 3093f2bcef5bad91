"""Bind a runbook class and its params into a frozen, ordered ``Plan``. Pure: no I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.outputs import used as used_outputs
from opsbooks.define.params import Params, param_values, redacted
from opsbooks.define.policies import Retry
from opsbooks.define.runbook import Runbook, undo_id
from opsbooks.define.steps import (
    Branch,
    Command,
    Gate,
    Manual,
    Notify,
    PythonStep,
    Remote,
    Step,
    Verify,
    WaitUntil,
)
from opsbooks.define.template import Bound, TemplateError, bind, join_argv
from opsbooks.errors import BadInput, ParamsError


@dataclass(frozen=True)
class PlannedStep:
    """A step with its templates bound (or left as placeholders when planning for docs).

    ``command`` is what runs and may hold secrets; ``shown`` and ``text`` are safe to
    print, journal and render.
    """

    id: str
    kind: str
    title: str
    description: str
    automated: bool
    command: str | None
    shown: str | None
    text: str | None
    undo: str | None
    retry: Retry | None
    timeout: float | None
    when: str | None
    idempotent: bool
    compensation: bool = False
    skip_reason: str | None = None
    undo_on_failure: bool = False
    outputs: tuple[str, ...] = ()
    step: Step = field(default_factory=Step, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "automated": self.automated,
            "command": self.shown,
            "text": self.text,
            "undo": self.undo,
            "retry": None if self.retry is None else self.retry.describe(),
            "timeout": self.timeout,
            "when": self.when,
            "idempotent": self.idempotent,
            "undo_on_failure": self.undo_on_failure,
            "outputs": list(self.outputs),
            "skip_reason": self.skip_reason,
        }


@dataclass(frozen=True)
class Plan:
    """The ordered, bound procedure that runner, renderer and dry-run all read."""

    runbook: type[Runbook]
    params: Params | None
    steps: tuple[PlannedStep, ...]
    compensations: Mapping[str, PlannedStep]
    fingerprint: str
    start_at: str | None = None
    skip: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.runbook.name

    @property
    def bound(self) -> bool:
        return self.params is not None

    def get(self, step_id: str) -> PlannedStep:
        for planned in self.steps:
            if planned.id == step_id:
                return planned
        if step_id in self.compensations:
            return self.compensations[step_id]
        raise KeyError(step_id)

    def ids(self) -> list[str]:
        return [planned.id for planned in self.steps]

    def to_dict(self) -> dict[str, Any]:
        return {
            "runbook": self.name,
            "fingerprint": self.fingerprint,
            "params": redacted(self.params),
            "start_at": self.start_at,
            "skip": list(self.skip),
            "steps": [planned.to_dict() for planned in self.steps],
            "compensations": {k: v.to_dict() for k, v in self.compensations.items()},
        }


def plan(
    runbook: type[Runbook],
    params: Params | None = None,
    *,
    start_at: str | None = None,
    skip: Iterable[str] = (),
) -> Plan:
    """Bind ``runbook`` to ``params``; with no params, templates keep their placeholders."""
    if runbook.abstract:
        raise BadInput(f"{runbook.__name__} is abstract; plan one of its concrete subclasses")
    if params is not None and not isinstance(params, runbook.Params):
        raise BadInput(
            f"{runbook.name} takes {runbook.Params.__name__}, got {type(params).__name__}"
        )
    skip = tuple(skip)
    ids = [s.id for s in runbook.steps]
    for wanted, flag in [(start_at, "--start-at")] + [(s, "--skip") for s in skip]:
        if wanted is not None and wanted not in ids:
            raise BadInput(
                f"{flag} {wanted}: {runbook.name} has no step {wanted!r}; "
                f"its steps are: {', '.join(ids)}"
            )
    values = param_values(params)
    try:
        before_start = set(ids[: ids.index(start_at)]) if start_at else set()
        steps = tuple(
            _planned(
                s,
                values,
                skip_reason=(
                    f"before --start-at {start_at}"
                    if s.id in before_start
                    else ("--skip" if s.id in skip else None)
                ),
            )
            for s in runbook.steps
        )
        compensations = {
            sid: _planned(s, values, compensation=True) for sid, s in runbook.compensations.items()
        }
    except TemplateError as exc:
        raise ParamsError(runbook.name, [f"a parameter value cannot be used: {exc}"]) from None
    return Plan(
        runbook=runbook,
        params=params,
        steps=steps,
        compensations=MappingProxyType(compensations),
        fingerprint=fingerprint(runbook),
        start_at=start_at,
        skip=skip,
    )


def with_outputs(
    planned: PlannedStep, params: Params | None, outputs: Mapping[str, str]
) -> PlannedStep:
    """``planned`` with its ``{outputs.NAME}`` fields bound, at the moment it runs.

    Raises ``TemplateError`` naming the output when an earlier step did not publish it
    (it was skipped, or this run started after it).
    """
    item = planned.step
    wanted = used_outputs(item.templates())
    if not wanted:
        return planned
    absent = [name for name in wanted if name not in outputs]
    if absent:
        raise TemplateError(
            f"output {absent[0]!r} is not available: the step that publishes it did not "
            f"run in this run (skipped, or before --start-at)"
        )
    values = {**param_values(params), OUTPUTS_ROOT: dict(outputs)}
    return _planned(
        item, values, compensation=planned.compensation, skip_reason=planned.skip_reason
    )


def _bind_command(command: str | tuple[str, ...] | Any, values: Mapping[str, Any]) -> Bound:
    if isinstance(command, str):
        return bind(command, values, shell=True)
    return join_argv(list(command), values)


def _planned(
    item: Step,
    values: Mapping[str, Any],
    *,
    compensation: bool = False,
    skip_reason: str | None = None,
) -> PlannedStep:
    command: Bound | None = None
    text: str | None = None
    if isinstance(item, Command | Remote):
        command = _bind_command(item.command, values)
    elif isinstance(item, WaitUntil | Verify):
        if callable(item.check):
            name = getattr(item.check, "__qualname__", repr(item.check))
            command = Bound(f"python: {name}", f"python: {name}")
        else:
            command = _bind_command(item.check, values)
        if isinstance(item, Verify) and item.expect:
            text = bind(item.expect, values, shell=False).shown
    elif isinstance(item, Manual):
        text = bind(item.instructions, values, shell=False).shown
    elif isinstance(item, Gate):
        text = bind(item.prompt, values, shell=False).shown
    elif isinstance(item, Notify):
        text = bind(item.message, values, shell=False).shown
    elif isinstance(item, Branch):
        routes = ", ".join(f"{k} -> {v}" for k, v in item.routes.items())
        otherwise = f"; otherwise -> {item.default}" if item.default else ""
        text = f"on {item.on}: {routes}{otherwise}"
    elif isinstance(item, PythonStep):
        text = item.description or None
    return PlannedStep(
        id=item.id,
        kind=item.kind,
        title=item.label,
        description=item.description,
        automated=item.automated,
        command=None if command is None else command.text,
        shown=None if command is None else command.shown,
        text=text,
        undo=undo_id(item),
        retry=item.retry,
        timeout=item.timeout_seconds,
        when=_describe_when(item),
        idempotent=item.idempotent,
        compensation=compensation,
        skip_reason=skip_reason,
        undo_on_failure=item.undo_on_failure,
        outputs=item.outputs,
        step=item,
    )


def _describe_when(item: Step) -> str | None:
    if item.when is None:
        return None
    if callable(item.when):
        doc = (item.when.__doc__ or "").strip()
        return doc or getattr(item.when, "__qualname__", "a condition")
    return item.when


def fingerprint(runbook: type[Runbook]) -> str:
    """Hash the step graph and the params schema; params values do not change it."""
    graph = [_shape(s) for s in list(runbook.steps) + list(runbook.compensations.values())]
    schema = {name: repr(f.annotation) for name, f in runbook.Params.model_fields.items()}
    blob = json.dumps({"steps": graph, "params": schema}, sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _shape(item: Step) -> dict[str, Any]:
    shape: dict[str, Any] = {"id": item.id, "kind": item.kind, "templates": item.templates()}
    shape["undo"] = undo_id(item)
    shape["when"] = _describe_when(item)
    shape["idempotent"] = item.idempotent
    if item.undo_on_failure:  # only when set, so older runs' fingerprints still match
        shape["undo_on_failure"] = True
    if item.outputs:
        shape["outputs"] = list(item.outputs)
    if isinstance(item, Branch):
        shape["routes"] = dict(item.routes)
        shape["default"] = item.default
    if isinstance(item, Gate):
        shape["gate"] = [item.mode, list(item.choices), repr(item.answer_type), item.pattern]
    return shape
