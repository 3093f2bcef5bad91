"""The ``Step`` base every kind shares, and the binding helpers kinds use.

A step's id is the attribute name it is assigned to, so inserting a step never
changes the id of another, and journals, resume and doc anchors stay valid. Fields
that every kind has (and their run-time meaning) live here, in one place.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeGuard

from opsbooks.define.policies import Retry, seconds
from opsbooks.define.specs import Binding, NoSpec
from opsbooks.define.template import Bound, bind, join_argv

if TYPE_CHECKING:
    from opsbooks.define.context import StepContext
    from opsbooks.define.remote import Remote

Check = str | Sequence[str] | Callable[["StepContext"], bool]
Condition = str | Callable[[Mapping[str, Any]], bool]
OnFailure = Literal["rollback", "continue", "stop"]
#: a fact's name (``marks=``, ``::fact`` lines): dotted lower-case words
FACT_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$")
#: what a failed step may do to the run: undo what was done, go on, or stop as it is
ON_FAILURE: tuple[str, ...] = ("rollback", "continue", "stop")


@dataclass(frozen=True, kw_only=True)
class Step:
    """Fields every step has; ``id`` is filled in from the attribute name."""

    kind: ClassVar[str] = "step"
    automated: ClassVar[bool] = True

    title: str = ""
    description: str = ""
    undo: str | Step | None = None
    retry: Retry | None = None
    timeout: float | str | None = None
    when: Condition | None = None
    idempotent: bool = False
    undo_on_failure: bool = False
    outputs: tuple[str, ...] = ()
    #: printed on the console when the step starts (a template), journaled, reported
    note: str = ""
    #: labels ``--only-tags`` and ``--skip-tags`` select by (and hooks may read)
    tags: tuple[str, ...] = ()
    #: ``"rollback"`` (undo what was done), ``"continue"`` (non-critical) or ``"stop"``
    on_failure: OnFailure = "rollback"
    #: runs on every run and every resume, even with ``--start-at`` or tag selection
    setup: bool = False
    #: a read-only probe whose result must be fresh: run again on resume
    rerun_on_resume: bool = False
    #: keep the step's output off the console (it is still journaled, redacted)
    quiet: bool = False
    id: str = field(default="", compare=False)
    #: why a mutating step has no ``undo`` (``"deletes the old tag for good"``); ``opsbooks lint``
    irreversible: str = ""
    #: facts journaled when the step succeeds, at that time, with who (a gate: who said
    #: yes): the milestones reports and MTTR read, e.g. ``marks="incident.acknowledged"``
    marks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.timeout is not None:
            object.__setattr__(self, "timeout", seconds(self.timeout))
        if isinstance(self.outputs, str):
            object.__setattr__(self, "outputs", (self.outputs,))
        else:
            object.__setattr__(self, "outputs", tuple(self.outputs))
        # a lone string is one tag, not its letters; values are checked (with the runbook
        # and step id in the message) by ``define.checks_keywords`` at class definition
        tags = (self.tags,) if isinstance(self.tags, str) else tuple(self.tags)
        object.__setattr__(self, "tags", tags)
        marks = (self.marks,) if isinstance(self.marks, str) else tuple(self.marks)
        object.__setattr__(self, "marks", marks)

    def __set_name__(self, owner: type, name: str) -> None:
        if not self.id:
            object.__setattr__(self, "id", name)

    @property
    def timeout_seconds(self) -> float | None:
        return None if self.timeout is None else float(self.timeout)

    @property
    def label(self) -> str:
        """Title for people: the given title, else the id in words (in a section, its last part)."""
        return self.title or self.id.rpartition(".")[2].replace("_", " ").capitalize()

    def templates(self) -> list[str]:
        """Every template this step binds, for checking param names at definition time."""
        return []

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        """Bind this step's templates to ``values`` (unknown fields stay as placeholders).

        A new step kind overrides this to return its own frozen spec; the plan keeps
        only the binding, so nothing downstream reads the definition.
        """
        return Binding(spec=NoSpec())

    def shape(self) -> dict[str, Any]:
        """Kind-specific facts that change what the step does, for the plan's fingerprint."""
        return {}

    def keyword_shape(self) -> dict[str, Any]:
        """The shared keywords that change what a run does, only when set.

        Only when set, so a runbook that uses none keeps its fingerprint. A note or
        ``quiet`` changes what is shown, not what runs, so neither is in it.
        """
        shape: dict[str, Any] = {}
        if self.tags:
            shape["tags"] = list(self.tags)
        if self.on_failure != "rollback":
            shape["on_failure"] = self.on_failure
        if self.setup:
            shape["setup"] = True
        if self.rerun_on_resume:
            shape["rerun_on_resume"] = True
        return shape


def argv_or_shell(command: str | Sequence[str]) -> list[str]:
    return [command] if isinstance(command, str) else list(command)


def bind_command(command: str | Sequence[str], values: Mapping[str, Any]) -> Bound:
    """A shell string binds with shell quoting; an argv list binds word by word."""
    if isinstance(command, str):
        return bind(command, values, shell=True)
    return join_argv(list(command), values)


def bind_env(env: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, str]:
    """Bind each environment value as plain text: the way to hand a secret to a command.

    The environment of a process is readable only by its user, unlike its argv.
    """
    return {name: bind(value, values, shell=False).text for name, value in env.items()}


def text(template: str, values: Mapping[str, Any]) -> str:
    return bind(template, values, shell=False).shown


def check_binding(check: Check, values: Mapping[str, Any]) -> Bound:
    if callable(check):
        name = getattr(check, "__qualname__", repr(check))
        return Bound(f"python: {name}", f"python: {name}")
    return bind_command(check, values)


def is_remote(item: object) -> TypeGuard[Remote]:
    """Whether ``item`` is a host step (``Remote`` or a kind built on it).

    Asked of every step at class definition without importing ``define.remote``, so a
    runbook with no host step never loads its five step classes (about 9 ms of each
    ``opsbooks run``): an instance of ``Remote`` cannot exist before its module does.
    """
    remote = getattr(sys.modules.get("opsbooks.define.remote"), "Remote", None)
    return remote is not None and isinstance(item, remote)
