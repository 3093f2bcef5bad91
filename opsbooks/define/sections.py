"""Sections and ``Include``: group steps under a heading, or inline another runbook.

A section is a nested class in the runbook body (``class stop_nginx(ob.Section):``);
its steps get dotted ids (``stop_nginx.stop``), so the journal, ``--start-at`` and
doc anchors name them unambiguously. A step in a section names another step (in
``undo=``, a ``Branch`` route or a ``when=`` gate) by its full dotted id, or by a bare
id, which is looked up in the step's own section first, then in each enclosing
section, then at the top: the nearest definition wins, as with Python names.

``Include(Other, params={...})`` inlines ``Other``'s steps as a section. Each inlined
step remembers its ``Scope``: at ``plan()`` its templates are bound with the child's
params, computed from the parent's values through the ``params`` templates.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from opsbooks.define.answer_scope import answer_renames
from opsbooks.define.base import Step
from opsbooks.define.decisions import Branch, Gate
from opsbooks.define.node_first import NodeFirst, node_first
from opsbooks.define.params import param_values
from opsbooks.define.template import bind, fields, roots
from opsbooks.errors import DefinitionError, ParamsError

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook

SCOPE_ATTR = "_opsbooks_scope"
_TOKEN = re.compile(r"'[^']*'|\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_.]*")


class Section:
    """Base of a group of steps: subclass it inside a runbook body, steps as attributes.

    The docstring's first line is the section's title, the rest its description.
    ``class upgrade(ob.Section, per_host=True)`` rolls the whole section out node
    first (every step on one host, or batch, before the next), with ``batch_size``,
    ``max_failures`` and ``pause_between_batches`` as class attributes; see
    ``opsbooks.run.per_host``.
    """

    per_host: bool = False
    batch_size: int = 1
    max_failures: int | str = 0
    pause_between_batches: bool | str | float = False

    def __init_subclass__(cls, per_host: bool | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if per_host is not None:
            cls.per_host = per_host


@dataclass(frozen=True)
class Include:
    """Inline another runbook's steps here, as a section whose id is the attribute name.

    ``params`` maps each of the included runbook's params to a template over this
    runbook's params (``{"host": "{target}"}``); unmapped ones take their defaults.
    """

    runbook: type[Runbook]
    params: Mapping[str, str] = field(default_factory=dict)
    title: str = ""


@dataclass(frozen=True)
class SectionInfo:
    """One section of a plan: what its heading, anchor and Mermaid subgraph show."""

    id: str
    title: str
    description: str = ""
    #: the included runbook's name and category, when the section is an ``Include``
    include: str | None = None
    include_category: str = ""
    include_params: tuple[tuple[str, str], ...] = ()
    #: a node-first section (``per_host=True``): its roll-out, as the section declares it
    rollout: NodeFirst | None = None

    @property
    def depth(self) -> int:
        return self.id.count(".")


@dataclass(frozen=True)
class Scope:
    """How an included step's values come from the including runbook's values."""

    runbook: type[Runbook]
    params: Mapping[str, str]
    outer_params: frozenset[str]
    inner: Scope | None = None


@dataclass
class Gathered:
    """What collection found: forward steps, compensations and sections, in order."""

    steps: list[Step] = field(default_factory=list)
    compensations: dict[str, Step] = field(default_factory=dict)
    sections: list[SectionInfo] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)


Renamer = Callable[[Step, str], Step]


def is_section(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, Section) and value is not Section


def entries(klass: type) -> dict[str, Any]:
    """Attributes that are steps, sections or includes, in definition order, bases first."""
    found: dict[str, Any] = {}
    for base in reversed(klass.__mro__):
        for attr, value in vars(base).items():
            if isinstance(value, Step | Include) or is_section(value):
                found[attr] = value  # an override keeps the place of what it overrides
    return found


def gather(cls: type[Runbook], renamed: Renamer) -> Gathered:
    """Flatten ``cls``'s steps, sections and includes into dotted ids, references resolved."""
    out = Gathered()
    raw: list[tuple[str, Step]] = []  # (full id, step) before references are resolved
    inline: list[tuple[str, Step]] = []
    _walk(cls, entries(cls), "", raw, inline, out, renamed)
    known = {sid for sid, _ in raw} | {sid for sid, _ in inline}
    gates = {sid for sid, s in [*raw, *inline] if isinstance(s, Gate)}
    resolved = [(sid, _resolve(s, sid, known, gates)) for sid, s in raw]
    targets = {s.undo for _, s in resolved if isinstance(s.undo, str)}
    for sid, item in resolved:
        if sid in targets:  # named by an undo: runs only as a compensation
            out.compensations[sid] = item
        else:
            out.steps.append(item)
    for sid, item in inline:
        out.compensations[sid] = _resolve(item, sid, known, gates)
    return out


def _walk(
    owner: type,
    found: Mapping[str, Any],
    prefix: str,
    raw: list[tuple[str, Step]],
    inline: list[tuple[str, Step]],
    out: Gathered,
    renamed: Renamer,
) -> None:
    for attr, value in found.items():
        full = prefix + attr
        if isinstance(value, Step):
            item = value if value.id == full else renamed(value, full)
            if isinstance(value.undo, Step):
                undo_full = prefix + (value.undo.id or f"undo_{attr}")
                inline.append((undo_full, renamed(value.undo, undo_full)))
                item = _with(item, undo=undo_full) if prefix else item
            raw.append((full, item))
        elif isinstance(value, Include):
            _include(owner, value, full, raw, out, renamed)
        else:
            title, description = _doc(value, attr)
            out.sections.append(SectionInfo(full, title, description, rollout=node_first(value)))
            _walk(owner, entries(value), full + ".", raw, inline, out, renamed)


def _include(
    owner: type,
    inc: Include,
    full: str,
    raw: list[tuple[str, Step]],
    out: Gathered,
    renamed: Renamer,
) -> None:
    child = included_runbook(owner, inc, full)
    params = getattr(owner, "Params", None)
    outer = frozenset(params.model_fields) if params is not None else frozenset()
    mapping = tuple((k, str(v)) for k, v in inc.params.items())
    title = inc.title or child.title
    out.sections.append(
        SectionInfo(full, title, child.purpose(), child.name, child.category, mapping)
    )
    out.includes.extend([child.name, *getattr(child, "includes", ())])
    prefix = full + "."
    for info in getattr(child, "sections", ()):
        out.sections.append(replace(info, id=prefix + info.id))
    members = [*child.steps, *child.compensations.values()]
    child_ids = {s.id for s in members}
    child_gates = {s.id for s in members if isinstance(s, Gate)}
    for item in members:
        scope = Scope(child, dict(inc.params), outer, getattr(item, SCOPE_ATTR, None))
        clone = _prefixed(item, prefix, child_ids, child_gates, dict(inc.params), renamed)
        object.__setattr__(clone, SCOPE_ATTR, scope)
        raw.append((clone.id, clone))


def included_runbook(owner: type, inc: Include, where: str) -> type[Runbook]:
    """``inc``'s runbook, or a ``DefinitionError`` naming what was given and the fix
    (said before anything reads the child's title or steps)."""
    from opsbooks.define.runbook import Runbook

    child: Any = inc.runbook
    if isinstance(child, type) and issubclass(child, Runbook) and not child.abstract:
        return child
    name = getattr(owner, "name", "") or owner.__name__
    shown = getattr(child, "__name__", repr(child))
    if isinstance(child, str):
        fix = (
            f"Include takes the runbook class, not its name: import the class of {child} "
            f"(from its module) and write Include(TheClass, params=...)"
        )
    elif isinstance(child, type) and issubclass(child, Section):
        fix = (
            f"{shown} is a section, not a runbook: write a section as a nested class in the "
            f"runbook body "
            f"(class {where}(ob.Section): ...), and use Include for another runbook"
        )
    elif isinstance(child, type) and issubclass(child, Runbook):
        fix = f"Include(...) takes a concrete Runbook subclass; {shown} is abstract"
    else:
        fix = "Include takes a concrete Runbook subclass, as in Include(RestartApp, params=...)"
    prefix = "" if fix.startswith("Include(...)") else f"Include({shown}): "
    raise DefinitionError(name, prefix + fix, step=where)


def _prefixed(
    item: Step,
    prefix: str,
    ids: set[str],
    gates: set[str],
    mapping: Mapping[str, str],
    renamed: Renamer,
) -> Step:
    """A child's step under ``prefix``, its references to other child steps prefixed."""
    undo = None if item.undo is None else prefix + _undo_of(item)
    clone = renamed(_with(item, undo=undo), prefix + item.id)
    if isinstance(item.when, str):
        clone = _with(clone, when=_rename_names(item.when, gates, prefix, mapping))
    if isinstance(clone, Branch):
        routes = {k: prefix + v if v in ids else v for k, v in clone.routes.items()}
        default = prefix + clone.default if clone.default in ids else clone.default
        on = prefix + clone.on if clone.on in gates else _bare(mapping.get(clone.on)) or clone.on
        clone = _with(clone, routes=routes, default=default, on=on)
    return clone


def _undo_of(item: Step) -> str:
    if isinstance(item.undo, str):
        return item.undo
    assert item.undo is not None
    return item.undo.id or f"undo_{item.id}"


def _rename_names(expr: str, gates: set[str], prefix: str, mapping: Mapping[str, str]) -> str:
    """Rewrite a child's expression into the parent's names: its gates get the prefix
    (as ``answers.ID``), a param mapped to a bare ``{parent_param}`` becomes that param."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        scope, _, key = token.rpartition(".") if token.count(".") == 1 else ("", "", token)
        if token[0] in "'\"" or scope not in ("", "answers", "params"):
            return token
        if scope != "params" and key in gates:
            return f"answers.{prefix}{key}"
        bare = _bare(mapping.get(key)) if scope != "answers" else None
        return (f"{scope}.{bare}" if scope else bare) if bare is not None else token

    return _TOKEN.sub(one, expr)


def _bare(template: str | None) -> str | None:
    if template is None:
        return None
    names = fields(template)
    return names[0] if len(names) == 1 and template == "{" + names[0] + "}" else None


def _resolve(item: Step, full: str, known: set[str], gates: set[str]) -> Step:
    """Resolve bare references of a step in a section to full ids, nearest section first."""
    section = full.rpartition(".")[0]
    changes: dict[str, Any] = {}
    if isinstance(item.undo, str):
        changes["undo"] = lookup(item.undo, section, known)
    if isinstance(item.when, str):
        changes["when"] = _resolve_names(item.when, section, gates)
    if section:  # {answers.approve} in a template: the nearest gate, as in when=
        changes.update(answer_renames(item, section, gates, lookup))
    if isinstance(item, Branch):
        changes["routes"] = {k: lookup(v, section, known) for k, v in item.routes.items()}
        if item.default is not None:
            changes["default"] = lookup(item.default, section, known)
        changes["on"] = lookup(item.on, section, gates)
    differ = {k: v for k, v in changes.items() if v != getattr(item, k)}
    return _with(item, **differ) if differ else item


def lookup(name: str, section: str, known: set[str]) -> str:
    """``name`` as seen from ``section``: the nearest enclosing definition, else as given."""
    parts = section.split(".") if section else []
    for depth in range(len(parts), 0, -1):
        candidate = ".".join(parts[:depth]) + "." + name
        if candidate in known:
            return candidate
    return name


def _resolve_names(expr: str, section: str, gates: set[str]) -> str:
    """Bare gate ids (and ``answers.ID``) in an expression, resolved as ``answers.FULL_ID``."""

    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if "." in token and token in gates:
            return f"answers.{token}"  # a full dotted id, written bare
        key = token.removeprefix("answers.")
        if token[0] in "'\"" or ("." in key and key == token):
            return token
        found = lookup(key, section, gates)
        return f"answers.{found}" if found != key else token

    return _TOKEN.sub(one, expr)


def _with(item: Step, **changes: Any) -> Step:
    """A copy of a frozen step with ``changes``, keeping its id and any scope."""
    clone = object.__new__(type(item))
    for key, value in vars(item).items():
        object.__setattr__(clone, key, value)
    for key, value in changes.items():
        object.__setattr__(clone, key, value)
    return clone


def _doc(section: type, attr: str) -> tuple[str, str]:
    text = inspect.cleandoc(section.__doc__ or "")
    first, _, rest = text.partition("\n")
    return first.strip() or attr.replace("_", " ").capitalize(), rest.strip()


def scope_of(item: Step) -> Scope | None:
    found = getattr(item, SCOPE_ATTR, None)
    return found if isinstance(found, Scope) else None


def scoped(item: Step, values: Mapping[str, Any], runbook: Any) -> tuple[Mapping[str, Any], Any]:
    """The values (and runbook instance) an included step binds with; others unchanged."""
    scope = scope_of(item)
    while scope is not None:
        values, runbook = _translate(scope, values, runbook)
        scope = scope.inner
    return values, runbook


def _translate(scope: Scope, values: Mapping[str, Any], runbook: Any) -> tuple[dict[str, Any], Any]:
    passed = {k: v for k, v in values.items() if k not in scope.outer_params}
    mine: dict[str, Any] = {}
    for name, template in scope.params.items():
        if not roots(template) <= set(values):
            continue  # planning for docs: the child's placeholder stays
        bare = _bare(template)
        mine[name] = values[bare] if bare is not None else bind(template, values, shell=False).text
    if not scope.outer_params <= set(values):
        return passed | mine, None
    try:
        params = scope.runbook.Params.model_validate(mine)
    except ValueError as exc:
        problem = f"the params given to the included runbook {scope.runbook.name} do not fit"
        raise ParamsError(scope.runbook.name, [f"{problem}: {exc}"]) from None
    return passed | param_values(params), scope.runbook(params)
