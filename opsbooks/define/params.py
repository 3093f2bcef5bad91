"""Typed runbook parameters: a frozen pydantic model per runbook."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from opsbooks.errors import ParamsError

REDACTED = "*****"


class Params(BaseModel):
    """Base for every runbook's parameters: frozen, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class NoParams(Params):
    """Parameters of a runbook that takes none."""


def validate_params(runbook: str, model: type[Params], values: dict[str, Any]) -> Params:
    """Build ``model`` from raw values, rewriting pydantic's error as one line per field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ParamsError(runbook, describe_validation_error(exc, model)) from None


def describe_validation_error(
    exc: ValidationError, model: type[BaseModel] | None = None
) -> list[str]:
    """Say per field what was wrong without ever echoing a secret's value.

    A value that does not match a field's pattern also gets the field's description
    (``e.g. 1.4.0``), which says more to a person than the regular expression.
    """
    fields = model.model_fields if model is not None else {}
    secret = secret_fields(model) if model is not None else set()
    problems = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"])
        message = _friendly(err)
        if not loc:  # a check across several params (a model validator): no one flag to name
            problems.append(message)
            continue
        flag = "--" + loc.replace("_", "-")
        given = err.get("input")
        if err["type"] == "missing":
            problems.append(f"{flag}: is required")
        elif isinstance(given, str | int | float | bool) and not _looks_secret(loc, secret):
            problems.append(f"{flag}: {message}, got {given!r}{_hint(err, fields.get(loc))}")
        else:
            problems.append(f"{flag}: {message}")
    return problems


def _hint(err: Any, field: Any) -> str:
    description = getattr(field, "description", None)
    if err["type"] != "string_pattern_mismatch" or not description:
        return ""
    return f"; expected: {description}"


def _friendly(err: Any) -> str:
    if err["type"] == "string_pattern_mismatch":
        return f"must match {err['ctx']['pattern']}"
    if err["type"] == "extra_forbidden":
        return "is not a parameter of this runbook"
    message: str = err["msg"]
    message = message.removeprefix("Value error, ")  # pydantic's wrapper of a ValueError
    return message[0].lower() + message[1:] if message else message


def _looks_secret(loc: str, secret: set[str]) -> bool:
    """A ``SecretStr`` field (any item of one) or a name that sounds secret: never echoed."""
    if loc.split(".")[0] in secret:
        return True
    return bool(re.search(r"secret|password|token|key", loc, re.IGNORECASE))


def param_values(params: BaseModel | None) -> dict[str, Any]:
    """Field name -> value (secrets stay ``SecretStr``), for binding templates."""
    if params is None:
        return {}
    return {name: getattr(params, name) for name in type(params).model_fields}


def secret_fields(model: type[BaseModel]) -> set[str]:
    """Names of the fields typed ``SecretStr`` (optional or not)."""
    names = set()
    for name, field in model.model_fields.items():
        if "SecretStr" in repr(field.annotation):
            names.add(name)
    return names


def secret_values(params: BaseModel | None) -> list[str]:
    """The plain values of every secret in ``params``, for redaction."""
    if params is None:
        return []
    found: list[str] = []
    for name in secret_fields(type(params)):
        found.extend(_plain_secrets(getattr(params, name)))
    return found


def _plain_secrets(value: Any) -> list[str]:
    """Every non-empty secret inside ``value``: a ``SecretStr`` or any container of them."""
    if isinstance(value, SecretStr):
        return [value.get_secret_value()] if value.get_secret_value() else []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return [secret for item in value for secret in _plain_secrets(item)]
    return []


def redacted(params: BaseModel | None) -> dict[str, Any]:
    """JSON-safe params with every secret replaced, for journals and reports."""
    if params is None:
        return {}
    data: dict[str, Any] = params.model_dump(mode="json")
    for name in secret_fields(type(params)):
        value = getattr(params, name)
        if _plain_secrets(value):  # any shape: never stored, asked again on resume
            data[name] = REDACTED
        elif isinstance(value, SecretStr):
            data[name] = ""
    return data
