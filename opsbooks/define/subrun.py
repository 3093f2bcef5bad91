"""``SubRun``: a step that starts another runbook as a linked run of its own.

Unlike ``Include`` (whose steps become this runbook's steps), a linked run keeps its
own lock, journal rows, audit file and outcome; the parent journals only the child's
run id. Its ``params`` bind exactly as an ``Include``'s do: each of the child's params
maps to a template over the parent's params (``{"host": "{target}"}``); a bare
``"{name}"`` passes the parent's value as it is (typed, a secret stays a secret), any
other template binds to text; unmapped ones take the child's defaults.

The runbook may also be a template (``SubRun("{outputs.alert_runbook}", chosen_by="the
alert's runbook label")``): its name is bound when the step runs and looked up in the
catalog then, so an unknown name fails the step with the names that exist. Its params
cannot be checked against the child at definition time; the child checks them when it
starts (a ``ParamsError`` fails the step with the child's message).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from opsbooks.define.base import Step
from opsbooks.define.specs import Binding
from opsbooks.define.template import bind, fields, roots

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook


@dataclass(frozen=True)
class SubRunSpec:
    """What a linked run starts: the child runbook's name and its params.

    ``params`` are the values the child is started with (a secret stays a
    ``SecretStr``); ``shown`` is the same as text safe to print, for pages and dry runs.
    """

    runbook: str
    title: str = ""
    category: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    shown: tuple[tuple[str, str], ...] = ()
    #: for a runbook named at run time: what names it (the page says so); else ""
    chosen_by: str = ""


@dataclass(frozen=True)
class SubRun(Step):
    """Start ``runbook`` as a linked run; this step succeeds iff that run succeeds.

    Resuming the parent resumes a child that failed or stopped (the same run id) and
    never runs again a child that succeeded.
    """

    kind: ClassVar[str] = "subrun"

    #: the child runbook class, or a template of its name bound when the step runs
    runbook: type[Runbook] | str
    params: Mapping[str, str] = field(default_factory=dict, kw_only=True)
    #: with a templated ``runbook``: what names it, for people ("the alert's runbook label")
    chosen_by: str = field(default="", kw_only=True)
    #: running the step again resumes the same child (or takes its success), never a
    #: second child: so a SubRun in flight at a crash is re-run without asking
    idempotent: bool = field(default=True, kw_only=True)

    def templates(self) -> list[str]:
        named = [self.runbook] if isinstance(self.runbook, str) else []
        return [*named, *(str(v) for v in self.params.values())]

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        passed: dict[str, Any] = {}
        shown: list[tuple[str, str]] = []
        for name, template in self.params.items():
            template = str(template)
            if not roots(template) <= set(values):  # planning for docs: keep the template
                shown.append((name, template))
                continue
            bare = bare_name(template)
            bound = bind(template, values, shell=False)
            passed[name] = values[bare] if bare is not None else bound.text
            shown.append((name, bound.shown))
        child = self.runbook
        if isinstance(child, str):  # named at run time: bound once its names are known
            name = bind(child, values, shell=False).text if roots(child) <= set(values) else child
            spec = SubRunSpec(
                name,
                "",
                name.partition(".")[0],
                passed,
                tuple(shown),
                self.chosen_by or f"the runbook named by {child}",
            )
        else:
            spec = SubRunSpec(child.name, child.title, child.category, passed, tuple(shown))
        return Binding(text=describe(spec), spec=spec)

    def shape(self) -> dict[str, Any]:
        child = self.runbook if isinstance(self.runbook, str) else self.runbook.name
        return {"subrun": child, "params": sorted(self.params.items())}


def bare_name(template: str) -> str | None:
    """``"{name}"`` alone: the param it passes through as it is; else None."""
    names = fields(template)
    return names[0] if len(names) == 1 and template == "{" + names[0] + "}" else None


def describe(spec: SubRunSpec) -> str:
    """One line for the dry run and the page: which runbook, with which params."""
    given = ", ".join(f"{k}={v}" for k, v in spec.shown)
    which = spec.runbook
    if spec.chosen_by and "{" in which:  # not bound yet: say what will name it
        which = f"{spec.chosen_by} ({which})"
    return f"starts a linked run of {which}" + (f" with params {given}" if given else "")


def linked_runbooks(cls: type[Runbook]) -> Iterator[type[Runbook]]:
    """The runbooks ``cls`` starts as linked runs, transitively, each once.

    Stops at a runbook already seen, so a cycle ends the walk (the check reports it).
    """
    seen: set[str] = set()
    todo = [cls]
    while todo:
        current = todo.pop()
        for item in [*current.steps, *current.compensations.values()]:
            child = item.runbook if isinstance(item, SubRun) else None
            if child is not None and not isinstance(child, str) and child.name not in seen:
                seen.add(child.name)  # a runbook named at run time is found then, not here
                yield child
                todo.append(child)
