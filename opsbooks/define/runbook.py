"""The ``Runbook`` base class: declares steps and doc sections, checked at class definition."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from opsbooks.define.checks import validate
from opsbooks.define.conditions import parse_when
from opsbooks.define.params import NoParams
from opsbooks.define.params import Params as ParamsBase
from opsbooks.define.project import Project
from opsbooks.define.sections import SectionInfo, gather
from opsbooks.define.steps import Step, undo_id

__all__ = ["Change", "Runbook", "Trouble", "parse_when", "undo_id"]


@dataclass(frozen=True)
class Trouble:
    """A troubleshooting entry: what you see, why, and what to do."""

    symptom: str
    cause: str
    solution: str


@dataclass(frozen=True)
class Change:
    """A change-log entry of the procedure itself."""

    date: str
    summary: str
    author: str = ""


class Runbook:
    """Base of every runbook: subclass it, declare ``Params`` and steps as attributes.

    The class docstring is the runbook's purpose. ``scope``, ``owner`` and
    ``last_reviewed`` are required of every concrete runbook; pass ``abstract=True``
    in the class statement for a base meant to be subclassed.
    """

    Params: ClassVar[type[ParamsBase]] = NoParams
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    category: ClassVar[str] = ""
    owner: ClassVar[str] = ""
    severity: ClassVar[str] = ""
    scope: ClassVar[str] = ""
    prerequisites: ClassVar[Sequence[str]] = ()
    verification: ClassVar[Sequence[str]] = ()
    troubleshooting: ClassVar[Sequence[Trouble]] = ()
    recovery: ClassVar[str] = ""
    related: ClassVar[Sequence[str]] = ()
    last_reviewed: ClassVar[str | dt.date] = ""
    review_every_days: ClassVar[int] = 90
    changelog: ClassVar[list[Change]] = []
    rto: ClassVar[str] = ""
    rpo: ClassVar[str] = ""
    #: (from, to): recovery time is measured from the end of ``from`` to the end of ``to``.
    rto_steps: ClassVar[tuple[str, str] | None] = None

    abstract: ClassVar[bool] = True
    steps: ClassVar[tuple[Step, ...]] = ()
    compensations: ClassVar[dict[str, Step]] = {}
    #: the sections (nested ``Section`` classes and ``Include``s), in order
    sections: ClassVar[tuple[SectionInfo, ...]] = ()
    #: names of the runbooks this one includes, transitively (for the cycle check)
    includes: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: ParamsBase) -> None:
        self.params = params

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.abstract = abstract
        if not cls.__dict__.get("name"):
            cls.name = _default_name(cls)
        if not cls.__dict__.get("category"):
            cls.category = cls.name.split(".")[0]
        if not cls.__dict__.get("title"):
            cls.title = _words(cls.__name__)
        _collect(cls)
        if not abstract:
            validate(cls)

    @classmethod
    def prepare_project(cls, project: Project) -> Path | None:
        """Set up what this runbook needs before it runs; return a config to run with instead.

        The engine calls it once before params are bound, for runs, dry runs, invoke
        tasks and resumes (``project.mode`` says which), so it must be quick when there
        is nothing to do and safe to call again. Return ``None`` to keep ``project``, or
        the path of another configuration file (or of a folder holding one) to run with
        that configuration. See docs/guides/writing-runbooks.md#preparing-before-first-use.
        """
        return None

    @classmethod
    def check_params(cls, params: ParamsBase, config: Mapping[str, Any]) -> None:
        """Refuse params that are valid on their own but not in this project's configuration.

        The engine calls it for a new run (and a dry run) after the params are bound and
        before the run is created, with the configuration a step sees as ``ctx.config``
        (``[tool.opsbooks.incidents]`` as ``config["incidents"]``, ...). Raise
        ``ob.BadInput`` (or a ``ValueError``) saying which value is wrong and which are
        valid; the run is then refused with exit 2 and nothing is journaled. See
        docs/guides/writing-runbooks.md#checking-params-against-the-configuration.
        """
        return None

    @classmethod
    def purpose(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def reviewed_on(cls) -> dt.date | None:
        if not cls.last_reviewed:
            return None
        if isinstance(cls.last_reviewed, dt.date):
            return cls.last_reviewed
        return dt.date.fromisoformat(cls.last_reviewed)

    @classmethod
    def next_review(cls) -> dt.date | None:
        reviewed = cls.reviewed_on()
        return None if reviewed is None else reviewed + dt.timedelta(days=cls.review_every_days)

    @classmethod
    def step(cls, step_id: str) -> Step:
        for candidate in cls.steps:
            if candidate.id == step_id:
                return candidate
        return cls.compensations[step_id]


def _words(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).strip()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _default_name(cls: type) -> str:
    parts = cls.__module__.split(".")
    if len(parts) >= 3:
        return f"{parts[-2]}.{parts[-1]}"
    category = cls.__dict__.get("category") or "general"
    return f"{category}.{_snake(cls.__name__)}"


def _collect(cls: type[Runbook]) -> None:
    """Gather steps in definition order, parents first; an override keeps its place.

    Nested ``Section`` classes and ``Include`` attributes are walked in place, their
    steps getting dotted ids (see ``opsbooks.define.sections``).
    """
    found = gather(cls, _renamed)
    cls.steps = tuple(found.steps)
    cls.compensations = found.compensations
    cls.sections = tuple(found.sections)
    cls.includes = tuple(dict.fromkeys(found.includes))


def _renamed(step: Step, new_id: str) -> Step:
    clone = object.__new__(type(step))
    for key, value in vars(step).items():
        object.__setattr__(clone, key, value)
    object.__setattr__(clone, "id", new_id)
    return clone
