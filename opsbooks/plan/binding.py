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
from functools import cached_property
from types import MappingProxyType
from typing import Any

from opsbooks.define.base import text
from opsbooks.define.hooks import hook_methods
from opsbooks.define.outputs import ROOT as OUTPUTS_ROOT
from opsbooks.define.outputs import used as used_outputs
from opsbooks.define.params import Params, param_values, redacted
from opsbooks.define.policies import Retry
from opsbooks.define.runbook import Runbook, undo_id
from opsbooks.define.sections import SectionInfo, scope_of, scoped
from opsbooks.define.specs import BranchSpec, NoSpec, RemoteSpec
from opsbooks.define.steps import Condition, Step
from opsbooks.define.template import RUNBOOK as RUNBOOK_ROOT
from opsbooks.define.template import TemplateError, late_names
from opsbooks.errors import BadInput, ParamsError
from opsbooks.plan.info import RunbookInfo
from opsbooks.plan.late import RunValues, late_values
from opsbooks.plan.sections import expand, sections_shape
from opsbooks.plan.selection import Selection, keyword_dict, keyword_fields, selection_dict

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
    #: the part of ``uses_outputs`` its command and checks need (not only its note or
    #: title, text for people): a step cannot run without these
    needs_outputs: tuple[str, ...] = field(default=(), compare=False, repr=False)
    rebind: Rebind | None = field(default=None, compare=False, repr=False)
    #: set on a compensation while it undoes this forward step (its hosts, its outputs)
    undo_of: str | None = None
    #: the shared keywords (``define.base.Step``): the note as shown (secrets masked) and
    #: its template (bound again per host), tags, failure policy, setup, re-run, quiet
    note: str | None = None
    note_template: str = field(default="", compare=False, repr=False)
    tags: tuple[str, ...] = ()
    on_failure: str = "rollback"
    setup: bool = False
    rerun_on_resume: bool = False
    quiet: bool = False
    #: facts journaled when it succeeds (``define.base.Step.marks``)
    marks: tuple[str, ...] = ()
    #: run-time names besides outputs its templates use (``answers.GATE``, ``run_id``)
    uses_late: tuple[str, ...] = ()
    #: an included step's own params (its runbook's, bound from the parent's); a step
    #: on hosts binds ``{host.*}`` per host with these, not with the plan's params
    own_params: Params | None = field(default=None, compare=False, repr=False)

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
            **keyword_dict(self),
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
    only_tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    #: the runbook instance when it defines step hooks (``before_step`` ...); never
    #: fingerprinted or serialized: hooks observe steps, they do not change them
    hooks: tuple[object, ...] = field(default=(), compare=False, repr=False)
    #: the runbook's sections in order (``opsbooks.plan.sections`` numbers them)
    sections: tuple[SectionInfo, ...] = ()

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def bound(self) -> bool:
        return self.params is not None

    @cached_property
    def _index(self) -> Mapping[str, PlannedStep]:
        """Every step by id, built once: the runner looks steps up at every step, and a
        scan made a long run quadratic. The first forward step of an id wins, then a
        compensation, as the scan did. Not a field: the fingerprint, equality and
        ``to_dict`` never see it."""
        index = dict(self.compensations)
        for planned in reversed(self.steps):
            index[planned.id] = planned
        return MappingProxyType(index)

    @cached_property
    def remote(self) -> bool:
        """Whether a step runs on hosts (a ``RemoteSpec``): the host checks, the probe
        and the host runner each asked, and each walked every step."""
        return any(isinstance(planned.spec, RemoteSpec) for planned in self.all_steps())

    @cached_property
    def _ids(self) -> tuple[str, ...]:
        return tuple(planned.id for planned in self.steps)

    def get(self, step_id: str) -> PlannedStep:
        return self._index[step_id]

    def find(self, step_id: str) -> PlannedStep | None:
        try:
            return self.get(step_id)
        except KeyError:
            return None

    def ids(self) -> list[str]:
        """The forward step ids in order, as a list of the caller's own (a copy of the
        tuple built once: no attribute lookups per step, as the comprehension had)."""
        return list(self._ids)

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
            **selection_dict(self.only_tags, self.skip_tags),
            "steps": [planned.to_dict() for planned in self.steps],
            "compensations": {k: v.to_dict() for k, v in self.compensations.items()},
        }


def plan(
    runbook: type[Runbook],
    params: Params | None = None,
    *,
    start_at: str | None = None,
    skip: Iterable[str] = (),
    only_tags: Iterable[str] = (),
    skip_tags: Iterable[str] = (),
) -> Plan:
    """Bind ``runbook`` to ``params``; with no params, templates keep their placeholders."""
    if runbook.abstract:
        raise BadInput(f"{runbook.__name__} is abstract; plan one of its concrete subclasses")
    if params is not None and not isinstance(params, runbook.Params):
        raise BadInput(
            f"{runbook.name} takes {runbook.Params.__name__}, got {type(params).__name__}"
        )
    start_at, skip = expand(runbook, start_at, skip)  # a section id means its steps
    ids = [s.id for s in runbook.steps]
    for wanted, flag in [(start_at, "--start-at")] + [(s, "--skip") for s in skip]:
        if wanted is not None and wanted not in ids:
            raise BadInput(
                f"{flag} {wanted}: {runbook.name} has no step {wanted!r}; "
                f"its steps are: {', '.join(ids)}"
            )
    values = {RUNBOOK_ROOT: runbook.name, **param_values(params)}  # a param wins a clash
    instance = runbook(params) if params is not None else None
    selection = Selection.of(runbook, start_at, skip, only_tags, skip_tags)
    try:
        steps = tuple(
            _planned(s, values, instance, skip_reason=selection.skip_reason(s))
            for s in runbook.steps
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
        only_tags=selection.only_tags,
        skip_tags=selection.skip_tags,
        hooks=(instance,) if instance is not None and hook_methods(runbook) else (),
        sections=runbook.sections,
    )


def with_outputs(
    planned: PlannedStep,
    params: Params | None,
    outputs: Mapping[str, str],
    *,
    run: RunValues | None = None,
) -> PlannedStep:
    """``planned`` with its ``{outputs.NAME}`` fields bound, at the moment it runs, and
    with ``run``, its ``{answers.GATE}`` and ``{run_id}`` fields too (``plan.late``).

    Raises ``TemplateError`` naming the output when an earlier step did not publish one
    its command needs (it was skipped, or this run started after it). A note or title
    is text for people: an output it names that is not there reads as
    ``{outputs.NAME: not available}`` and never fails the step.
    """
    if planned.rebind is None:
        return planned
    check_needed(planned, outputs)
    shown = {**absent_placeholders(planned, outputs), **outputs}
    late = late_values(planned.uses_late, run)
    bound = planned.rebind({**late, **param_values(params), OUTPUTS_ROOT: shown})
    return replace(bound, undo_of=planned.undo_of)


def check_needed(planned: PlannedStep, *available: Mapping[str, Any]) -> None:
    """Raise ``TemplateError`` when an output ``planned``'s command needs is in none of
    ``available`` (a note's or a title's missing output is no reason to fail)."""
    absent = [n for n in planned.needs_outputs if not any(n in found for found in available)]
    if absent:
        raise TemplateError(
            f"output {absent[0]!r} is not available: the step that publishes it did not "
            f"run in this run (skipped, or before --start-at)"
        )


def absent_placeholders(planned: PlannedStep, outputs: Mapping[str, str]) -> dict[str, str]:
    """What a note shows for each output it names that is not there: a marked placeholder."""
    return {n: f"{{outputs.{n}: not available}}" for n in planned.uses_outputs if n not in outputs}


def _planned(
    item: Step,
    values: Mapping[str, Any],
    runbook: Any,
    *,
    compensation: bool = False,
    skip_reason: str | None = None,
) -> PlannedStep:
    values, runbook = scoped(item, values, runbook)  # an included step binds its own params
    binding = item.bind(values, runbook)
    templates = item.templates()  # each call builds the list: once per step, not four times
    needed = used_outputs(templates)
    people = used_outputs([item.note, item.title])  # text for people: shown, never needed
    wanted = (*needed, *people)
    late = tuple(late_names([*templates, item.note, item.title]))
    named = {k: values[k] for k in (RUNBOOK_ROOT,) if k in values}  # kept when bound again

    def rebind(more: Mapping[str, Any]) -> PlannedStep:
        more = {**named, **more}
        return _planned(item, more, runbook, compensation=compensation, skip_reason=skip_reason)

    command, label = binding.command, item.label
    return _new_planned(
        id=item.id,
        kind=item.kind,
        title=text(label, values) if "{" in label else label,  # a template
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
        needs_outputs=tuple(needed),
        rebind=rebind if wanted or late else None,
        uses_late=late,
        **keyword_fields(item, values),
        own_params=getattr(runbook, "params", None) if scope_of(item) is not None else None,
    )


#: the fields ``_planned`` leaves at their defaults (none has a default factory)
_PLANNED_DEFAULTS = {"undo_of": None}


def _new_planned(**values: Any) -> PlannedStep:
    """``PlannedStep(**values)`` without the frozen ``__init__``'s ``object.__setattr__``
    per field (33 fields: 7 us a step, a third of planning 1,000 steps, which every
    resume does). Only ``_planned`` calls it, with every field but the defaults above;
    ``tests/definition/test_planned_fields.py`` keeps it equal to the constructor."""
    planned = object.__new__(PlannedStep)
    values.update(_PLANNED_DEFAULTS)
    object.__setattr__(planned, "__dict__", values)  # the call's own dict: not copied
    return planned


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
    shaped = {"steps": graph, "params": schema} | sections_shape(runbook)
    blob = json.dumps(shaped, sort_keys=True, default=repr)
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
    shape.update(item.keyword_shape())
    return shape
