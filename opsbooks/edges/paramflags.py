"""Command-line flags derived from a runbook's ``Params`` model (for ``opsbooks run`` and
the invoke tasks): type, default, help, required, booleans as ``--x/--no-x``, lists
repeatable. Values stay strings here; pydantic validates them in one place.

``FlagSpec`` and ``help_line`` import no pydantic: the catalog index stores flag specs,
and ``invoke --list`` builds its tasks from them without importing a runbook.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

    from opsbooks.define.params import Params


@dataclass(frozen=True)
class FlagSpec:
    name: str
    flag: str
    kind: Literal["bool", "list", "value"]
    required: bool
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    type_name: str = "str"
    from_config: bool = False


def _inner(annotation: Any) -> Any:
    """Strip ``Optional[...]`` so the flag kind reflects the real type."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _inner(args[0])
    return annotation


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "choice"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def flag_specs(model: type[Params], configured: Mapping[str, Any] | None = None) -> list[FlagSpec]:
    """One flag per field; a value set in the configuration makes a flag optional."""
    specs = [_spec(name, info) for name, info in model.model_fields.items()]
    configured = configured or {}
    return [
        replace(s, required=False, default=configured[s.name], from_config=True)
        if s.name in configured and not s.secret
        else s
        for s in specs
    ]


def _spec(name: str, info: FieldInfo) -> FlagSpec:
    from pydantic import SecretStr  # a model exists, so pydantic is loaded already

    annotation = _inner(info.annotation)
    origin = typing.get_origin(annotation)
    choices: tuple[str, ...] = ()
    if origin is Literal:
        choices = tuple(str(v) for v in typing.get_args(annotation))
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        choices = tuple(str(m.value) for m in annotation)
    if annotation is bool:
        kind: Literal["bool", "list", "value"] = "bool"
    elif origin in (list, tuple, set, frozenset):
        kind = "list"
    else:
        kind = "value"
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    secret = annotation is SecretStr
    return FlagSpec(
        name=name,
        flag="--" + name.replace("_", "-"),
        kind=kind,
        required=info.is_required(),
        default=None if secret else default,
        help=info.description or "",
        choices=choices,
        secret=secret,
        type_name=_type_name(annotation),
    )


def help_line(spec: FlagSpec) -> str:
    parts = [spec.help or spec.name.replace("_", " ")]
    if spec.choices:
        parts.append("one of " + ", ".join(spec.choices))
    if spec.secret:
        parts.append(f"secret; better set OPSBOOKS_SECRET_{spec.name.upper()}")
    if spec.required:
        parts.append("required")
    elif spec.default not in (None, "", [], ()) and not spec.secret:
        origin = " (from config)" if spec.from_config else ""
        parts.append(f"default: {spec.default}{origin}")
    if spec.kind == "list":
        parts.append("repeat for several")
    return "; ".join(parts)
