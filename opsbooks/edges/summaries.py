"""What listing a runbook needs, without its class: name, title, category, steps, flags.

``opsbooks list``, ``invoke --list``, shell completion and a task's ``--help`` read
only these facts, so the catalog index (``opsbooks.edges.catalog_index``) stores them
and those commands import no runbook module, hence no pydantic. Building a summary
from a class is the one place that reads the class; nothing here imports pydantic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from opsbooks.edges.paramflags import FlagSpec, flag_specs

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook


@dataclass(frozen=True)
class Summary:
    """One runbook as a listing shows it; ``module`` is imported only to run or render it."""

    name: str
    category: str
    title: str
    steps: int
    module: str
    #: the invoke task's help line: ``title: first line of the purpose``
    doc: str
    #: its ``Params`` as flags, before configured defaults are applied
    flags: tuple[FlagSpec, ...]

    @property
    def field_names(self) -> set[str]:
        return {spec.name for spec in self.flags}

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["flags"] = [{**asdict(spec), "default": _plain(spec.default)} for spec in self.flags]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        flags = tuple(
            FlagSpec(**{**spec, "choices": tuple(spec["choices"])}) for spec in data["flags"]
        )
        return cls(**{**data, "flags": flags})


def summarize(runbook: type[Runbook]) -> Summary:
    """The summary of a runbook class, as the index stores it."""
    return Summary(
        name=runbook.name,
        category=runbook.category,
        title=runbook.title,
        steps=len(runbook.steps),
        module=runbook.__module__,
        doc=f"{runbook.title}: {runbook.purpose().splitlines()[0]}",
        flags=tuple(flag_specs(runbook.Params)),
    )


def _plain(value: Any) -> Any:
    """``value`` if JSON keeps it exactly, else its ``str`` (all a help line prints of it).

    A tuple would come back a list and print differently, a ``Path`` or an enum member
    would not serialize: their text is what ``help_line`` shows, so the text is stored.
    """
    if value is None or type(value) in (str, int, float, bool):
        return value
    if type(value) is list and all(_plain(item) is item for item in value):
        return value
    return str(value)
