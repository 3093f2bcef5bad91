"""Bind a runbook class and its params into a frozen, ordered ``Plan``. Pure: no I/O.

The Plan is the contract between definition and everything else: each planned step
carries the common fields and its kind's frozen spec (``opsbooks.define.specs``), so
the runner, the dry run and the renderers never read the runbook class or its steps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.outputs import used as used_outputs
from opsbooks.define.params import Params, param_values, redacted
from opsbooks.define.policies import Retry
from opsbooks.define.runbook import Runbook, undo_id
from opsbooks.define.specs import BranchSpec, NoSpec
from opsbooks.define.steps import Condition, Step
from opsbooks.define.template import TemplateError
from opsbooks.errors import BadInput, ParamsError
from opsbooks.plan.info import RunbookInfo

Rebind = Callable[[Mapping[str, Any]], "PlannedStep"]


@dataclass(frozen=True)
class PlannedStep:
    """A step with its templates bound (or left as placeholders when planning for docs).

    ``command`` is what runs and may hold secrets; ``shown`` and ``text`` are safe to
    print, journal and render. ``spec`` is the kind's own frozen record.
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
    spec: Any = field(default_factory=NoSpec)
    #: the condition itself (an expression or a callable); ``when`` describes it
    condition: Condition | None = field(default=None, compare=False, repr=False)
    #: outputs of earlier steps this step's templates use, bound when it runs
    uses_outputs: tuple[str, ...] = ()
    rebind: Rebind | None = field(default=None, compare=False, repr=False)
    #: set on a compensation while it undoes this forward step (its hosts, its outputs)
    undo_of: str | None = None

    @property
    def routes(self) -> Mapping[str, str]:
        """Where a branch may go: value -> step id (empty for other kinds)."""
        return self.spec.routes if isinstance(self.spec, BranchSpec) else {}

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

    info: RunbookInfo
    params: Params | None
    steps: tuple[PlannedStep, ...]
    compensations: Mapping[str, PlannedStep]
    fingerprint: str
    start_at: str | None = None
    skip: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.info.name

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

    def find(self, step_id: str) -> PlannedStep | None:
        try:
            return self.get(step_id)
        except KeyError:
            return None

    def ids(self) -> list[str]:
        return [planned.id for planned in self.steps]

    def all_steps(self) -> list[PlannedStep]:
        """Forward steps then compensations: everything that may run."""
        return [*self.steps, *self.compensations.values()]

    def kinds(self) -> set[str]:
        return {planned.kind for planned in self.all_steps()}

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
    instance = runbook(params) if params is not None else None
    before_start = set(ids[: ids.index(start_at)]) if start_at else set()

    def skip_reason(step_id: str) -> str | None:
        if step_id in before_start:
            return f"before --start-at {start_at}"
        return "--skip" if step_id in skip else None

    try:
        steps = tuple(
            _planned(s, values, instance, skip_reason=skip_reason(s.id)) for s in runbook.steps
        )
        compensations = {
            sid: _planned(s, values, instance, compensation=True)
            for sid, s in runbook.compensations.items()
        }
    except TemplateError as exc:
        raise ParamsError(runbook.name, [f"a parameter value cannot be used: {exc}"]) from None
    return Plan(
        info=RunbookInfo.of(runbook),
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
    if not planned.uses_outputs or planned.rebind is None:
        return planned
    absent = [name for name in planned.uses_outputs if name not in outputs]
    if absent:
        raise TemplateError(
            f"output {absent[0]!r} is not available: the step that publishes it did not "
            f"run in this run (skipped, or before --start-at)"
        )
    bound = planned.rebind({**param_values(params), OUTPUTS_ROOT: dict(outputs)})
    return replace(bound, undo_of=planned.undo_of)


def _planned(
    item: Step,
    values: Mapping[str, Any],
    runbook: Any,
    *,
    compensation: bool = False,
    skip_reason: str | None = None,
) -> PlannedStep:
    binding = item.bind(values, runbook)
    wanted = tuple(used_outputs(item.templates()))

    def rebind(more: Mapping[str, Any]) -> PlannedStep:
        return _planned(item, more, runbook, compensation=compensation, skip_reason=skip_reason)

    command = binding.command
    return PlannedStep(
        id=item.id,
        kind=item.kind,
        title=item.label,
        description=item.description,
        automated=item.automated,
        command=None if command is None else command.text,
        shown=None if command is None else command.shown,
        text=binding.text,
        undo=undo_id(item),
        retry=item.retry,
        timeout=item.timeout_seconds,
        when=_describe_when(item),
        idempotent=item.idempotent,
        compensation=compensation,
        skip_reason=skip_reason,
        undo_on_failure=item.undo_on_failure,
        outputs=item.outputs,
        spec=binding.spec,
        condition=item.when,
        uses_outputs=wanted,
        rebind=rebind if wanted else None,
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
    shape.update(item.shape())
    return shape
