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
#: the journal detail key listing outputs that contained a secret (stored redacted).
TAINTED = "tainted_outputs"
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
    """What a finished step published: its declared ``::output`` lines, plus a ``@step``'s
    return (under its id). Lines for names the step does not declare are dropped (see
    ``undeclared``): only the step that declares an output may set it.

    Raises ``TemplateError`` when a declared name is missing, so the step fails where
    the value should have been produced, not later where it is used.
    """
    own = set(declared)
    produced = {name: value for name, value in lines.items() if name in own}
    if returned is not None:
        produced[step_id] = returned
    absent = missing(declared, produced)
    if absent:
        raise TemplateError(
            f"the step declares output {absent[0]!r} but printed no line "
            f"`::output {absent[0]}=VALUE`"
        )
    return produced


def undeclared(declared: Iterable[str], lines: dict[str, str]) -> list[str]:
    """Names in ``lines`` the step does not declare: ignored, never published."""
    own = set(declared)
    return sorted(name for name in lines if name not in own)


def recorded(details: Iterable[dict[str, object]]) -> dict[str, str]:
    """Outputs journaled with succeeded steps (``detail["outputs"]``), for a resumed run.

    A tainted output (it contained a secret) was journaled redacted: it is left out, never
    bound as its mask; ``tainted`` names them so a resume can refuse clearly.
    """
    found: dict[str, str] = {}
    for detail in details:
        values = detail.get("outputs")
        masked = tainted([detail])
        if isinstance(values, dict):
            found.update({str(k): str(v) for k, v in values.items() if str(k) not in masked})
            for name in masked:
                found.pop(name, None)
    return found


def tainted(details: Iterable[dict[str, object]]) -> set[str]:
    """Names of outputs journaled as tainted: derived from a secret, never stored."""
    names: set[str] = set()
    for detail in details:
        listed = detail.get(TAINTED)
        if isinstance(listed, list):
            names.update(str(name) for name in listed)
    return names
