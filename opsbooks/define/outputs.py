"""Step outputs: values a step finds out at run time that later steps' templates use.

A command publishes one by printing a line ``::output NAME=VALUE`` (the way it
prints ``::metric`` lines); a ``@step`` method's return value is published under the
step's id. A step declares the names it publishes (``outputs=("target",)``), later
templates use them as ``{outputs.target}``, and the definition is checked so a
template never names an output no earlier step promises. Values are journaled with
the step, so a resumed run binds them exactly as the first run did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from opsbooks.define.template import TemplateError, fields

ROOT = "outputs"
_LINE = re.compile(r"^::output ([A-Za-z_][A-Za-z0-9_]*)=(.*?)\r?$", re.MULTILINE)


def parse(text: str) -> dict[str, str]:
    """Every ``::output NAME=VALUE`` line in ``text``; a later line for a name wins."""
    return {name: value.strip() for name, value in _LINE.findall(text)}


def used(templates: Iterable[str]) -> list[str]:
    """The output names ``{outputs.NAME}`` fields in ``templates`` refer to, in order."""
    names: list[str] = []
    for template in templates:
        for field in fields(template):
            root, _, rest = field.partition(".")
            if root.split("[")[0] != ROOT:
                continue
            name = rest.split(".")[0].split("[")[0]
            if not name:
                raise TemplateError(
                    f"template {template!r} uses {{{field}}}; name the output, as in "
                    f"{{outputs.target}}"
                )
            names.append(name)
    return names


def missing(declared: Iterable[str], produced: dict[str, str]) -> list[str]:
    """Declared names a finished step did not publish."""
    return [name for name in declared if name not in produced]


def published(
    step_id: str, declared: Iterable[str], lines: dict[str, str], returned: str | None
) -> dict[str, str]:
    """What a finished step published: its ``::output`` lines, plus a ``@step``'s return.

    Raises ``TemplateError`` when a declared name is missing, so the step fails where
    the value should have been produced, not later where it is used.
    """
    produced = dict(lines)
    if returned is not None:
        produced[step_id] = returned
    absent = missing(declared, produced)
    if absent:
        raise TemplateError(
            f"the step declares output {absent[0]!r} but printed no line "
            f"`::output {absent[0]}=VALUE`"
        )
    return produced


def recorded(details: Iterable[dict[str, object]]) -> dict[str, str]:
    """Outputs journaled with succeeded steps (``detail["outputs"]``), for a resumed run."""
    found: dict[str, str] = {}
    for detail in details:
        values = detail.get("outputs")
        if isinstance(values, dict):
            found.update({str(k): str(v) for k, v in values.items()})
    return found
