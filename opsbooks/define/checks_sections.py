"""Definition checks of sections and includes: clashing ids, empty sections, include
params that do not fit, include cycles, and the templates of included steps.

Called from ``checks.validate``; each raises ``DefinitionError`` naming the runbook,
the section or step, and the fix.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsbooks.define.params import secret_fields
from opsbooks.define.sections import Include, entries, is_section, scope_of
from opsbooks.define.template import TemplateError, roots
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.base import Step
    from opsbooks.define.runbook import Runbook

_WORD = re.compile(r"(?<![\w.'\"])[A-Za-z_][A-Za-z0-9_]*(?![\w.])")


def check_sections(cls: type[Runbook]) -> None:
    """Raise ``DefinitionError`` for the first problem with ``cls``'s sections."""
    _check_includes(cls, entries(cls), "")
    if not cls.sections:
        return
    _check_cycle(cls)
    _check_ids(cls)
    forward = [s.id for s in cls.steps]
    for info in cls.sections:
        if not any(sid.startswith(info.id + ".") for sid in forward):
            raise DefinitionError(
                cls.name,
                f"section {info.id!r} has no steps of its own; add a step to it or remove it",
                step=info.id,
            )
    _check_included_steps(cls)


def _check_ids(cls: type[Runbook]) -> None:
    from opsbooks.define.runbook import Runbook

    ids = [s.id for s in [*cls.steps, *cls.compensations.values()]]
    reserved = {n for n in dir(Runbook) if not n.startswith("_")}
    seen: set[str] = set(ids)
    for info in cls.sections:
        clash = (
            "a step"
            if info.id in seen
            else ("a parameter" if info.id in cls.Params.model_fields else "")
        )
        if info.id in reserved:
            clash = "a runbook attribute"
        if clash:
            raise DefinitionError(
                cls.name,
                f"section id {info.id!r} is also {clash}; rename the section or the other",
                step=info.id,
            )
        seen.add(info.id)
    flat: dict[str, str] = {}
    for step_id in ids:
        node = step_id.replace(".", "__")
        if node in flat and flat[node] != step_id:
            raise DefinitionError(
                cls.name,
                f"step ids {flat[node]!r} and {step_id!r} would share one diagram node; "
                f"rename one of them (avoid '__' in step ids)",
                step=step_id,
            )
        flat[node] = step_id


def _included(klass: type) -> list[type[Runbook]]:
    """The runbook classes ``klass`` includes, transitively, in sections too."""
    found: list[type[Runbook]] = []
    for value in entries(klass).values():
        if isinstance(value, Include):
            found += [value.runbook, *_included(value.runbook)]
        elif is_section(value):
            found += _included(value)
    return found


def _twins(cls: type[Runbook], other: type[Runbook]) -> bool:
    """Two classes of one module with one name because one of them took it from the
    module (no ``name =``): a name collision, which reads as a cycle otherwise."""
    from opsbooks.define.runbook import _default_name

    defaulted = _default_name(cls) == cls.name or _default_name(other) == other.name
    same = other is not cls and other.name == cls.name and other.__module__ == cls.__module__
    return same and defaulted


def _check_cycle(cls: type[Runbook]) -> None:
    twin = next((c for c in _included(cls) if _twins(cls, c)), None)
    if twin is not None:  # two classes, one name (one module): not a cycle
        raise DefinitionError(
            cls.name,
            f"two runbooks are named {cls.name}: {cls.__module__}.{cls.__qualname__} and "
            f"{twin.__module__}.{twin.__qualname__}, which it includes; set `name` on one "
            f"of them or put them in separate modules",
        )
    if cls.name in cls.includes:
        raise DefinitionError(
            cls.name,
            f"Include cycle: {cls.name} includes {', '.join(cls.includes)}, and so itself; "
            f"a runbook cannot include itself, directly or through another (start it as a "
            f"linked run instead)",
        )


def _check_includes(cls: type[Runbook], found: dict[str, object], prefix: str) -> None:
    from opsbooks.define.runbook import Runbook

    parent = set(cls.Params.model_fields)
    parent_secrets = secret_fields(cls.Params)
    for attr, value in found.items():
        where = prefix + attr
        if is_section(value):
            _check_includes(cls, entries(value), where + ".")  # type: ignore[arg-type]
        if not isinstance(value, Include):
            continue
        child = value.runbook
        if not (isinstance(child, type) and issubclass(child, Runbook)) or child.abstract:
            raise DefinitionError(
                cls.name, "Include(...) takes a concrete Runbook subclass", step=where
            )
        fields = child.Params.model_fields
        for key, template in value.params.items():
            if key not in fields:
                raise DefinitionError(
                    cls.name,
                    f"Include({child.__name__}) has no param {key!r}; its params: "
                    f"{', '.join(fields) or 'none'}",
                    step=where,
                )
            try:
                used = roots(str(template))
            except TemplateError as exc:
                raise DefinitionError(cls.name, str(exc), step=where) from None
            unknown = sorted(used - parent)
            if unknown:
                raise DefinitionError(
                    cls.name,
                    f"params[{key!r}]={template!r} names {{{unknown[0]}}}, which is not a "
                    f"parameter of {cls.name}; known parameters: "
                    f"{', '.join(sorted(parent)) or 'none'}",
                    step=where,
                )
            if used & parent_secrets and key not in secret_fields(child.Params):
                raise DefinitionError(
                    cls.name,
                    f"params[{key!r}] passes a secret to {child.name}'s plain param {key!r}, "
                    f"where it would be shown; make that param a SecretStr",
                    step=where,
                )
        required = [n for n, f in fields.items() if f.is_required() and n not in value.params]
        if required:
            raise DefinitionError(
                cls.name,
                f"Include({child.__name__}) needs params {', '.join(required)}; pass them "
                f'as params={{"{required[0]}": "{{one_of_your_params}}"}}',
                step=where,
            )


def _check_included_steps(cls: type[Runbook]) -> None:
    """An included step's templates name its own runbook's params (checked against them),
    and its ``when=`` may name one only if the include maps it to a bare parent param."""
    from opsbooks.define.checks import _check_secrets_off_argv, _check_templates

    parent = set(cls.Params.model_fields)
    for item in [*cls.steps, *cls.compensations.values()]:
        outer = scope_of(item)
        if outer is None:
            continue
        scope = outer
        while scope.inner is not None:
            scope = scope.inner
        _check_templates(cls, item, set(scope.runbook.Params.model_fields))
        _check_secrets_off_argv(cls, item, secret_fields(scope.runbook.Params))
        if not isinstance(item.when, str):
            continue
        words = set(_WORD.findall(item.when))
        unmapped = sorted(words & set(outer.runbook.Params.model_fields) - parent)
        if unmapped:
            raise DefinitionError(
                cls.name,
                f"when={item.when!r} names {outer.runbook.name}'s param {unmapped[0]!r}, "
                f"which this runbook does not pass on; map it to one of yours: "
                f'params={{"{unmapped[0]}": "{{your_param}}"}}',
                step=item.id,
            )


def own_param_names(item: Step, names: set[str]) -> set[str]:
    """The params an included step's templates may name (its runbook's), else ``names``."""
    scope = scope_of(item)
    while scope is not None and scope.inner is not None:
        scope = scope.inner
    return names if scope is None else set(scope.runbook.Params.model_fields)
