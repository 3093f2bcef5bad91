"""What a step hook is handed and may return: ``StepView``, ``StepOutcome`` and ``Skip``.

Hooks run code before, after or around each step (timing, a skip by tag, a ticket
comment). They see a frozen, read-only view of the step instead of the planned step
itself, so a hook can observe or skip a step but never change what it runs. The
signature rules live here too: the definition checks (runbook methods) and the config
loader (plugins) apply the same ones, so both say the same thing about a wrong hook.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsbooks.define.sections import Include, entries, included_runbook, is_section

if TYPE_CHECKING:
    from opsbooks.define.runbook import Runbook

#: hook method name -> the parameters it takes after ``self``
HOOK_METHODS: dict[str, tuple[str, ...]] = {
    "before_step": ("ctx", "step"),
    "after_step": ("ctx", "step", "result"),
    "around_step": ("ctx", "step", "proceed"),
}


@dataclass(frozen=True)
class Skip:
    """Returned by ``before_step`` or ``around_step``: do not run this step, and why.

    The step is journaled as skipped with the reason, like a ``when=`` that is false.
    """

    reason: str


@dataclass(frozen=True)
class StepView:
    """What a hook sees of a step: read-only, and only what is safe to show.

    ``command`` is the shown (redacted) command; ``hosts`` the hosts a remote step
    targets; ``tags`` and ``section`` are empty when the step has none.
    """

    id: str
    kind: str
    title: str
    tags: tuple[str, ...] = ()
    section: str | None = None
    hosts: tuple[str, ...] = ()
    command: str | None = None


@dataclass(frozen=True)
class StepOutcome:
    """What ``after_step`` gets and ``proceed()`` returns: how the step ended.

    ``status`` is ``"succeeded"`` or ``"failed"``; ``reason`` says why it failed.
    """

    status: str
    duration: float = 0.0
    exit_code: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def hook_methods(target: object) -> dict[str, Callable[..., Any]]:
    """The hook methods ``target`` (a class or an instance) defines, by name."""
    found = {}
    for name in HOOK_METHODS:
        method = getattr(target, name, None)
        if method is not None:
            found[name] = method
    return found


def signature_problem(name: str, method: object, *, bound: bool) -> str | None:
    """Why ``method`` cannot be called as hook ``name``, or None when it can.

    ``bound`` says whether ``self`` is already bound (a plugin instance's method) or
    still to be passed (a function found on a runbook class).
    """
    wanted = HOOK_METHODS[name]
    shown = f"def {name}(self, {', '.join(wanted)})"
    if not callable(method):
        return f"{name} is not a method; define it as `{shown}`"
    if inspect.iscoroutinefunction(method):
        return f"{name} is async; hooks are plain methods: `{shown}`"
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return None  # a builtin or C callable: trust it
    arguments = list(wanted) if bound else ["self", *wanted]
    try:
        signature.bind(*arguments)
    except TypeError:
        return f"{name}{signature} has the wrong parameters; define it as `{shown}`"
    return None


def included_runbooks(cls: type[Runbook]) -> tuple[tuple[str, type[Runbook]], ...]:
    """(section id, runbook class) of each ``Include`` in ``cls``, nested ones too, in order.

    An included runbook keeps its hook methods and its ``prepare_project`` in the
    including runbook: the composition root reads them from here, since the plan holds
    only the including runbook's own instance.
    """
    if not cls.includes:  # set once at definition, names every include: none to walk
        return ()
    found: list[tuple[str, type[Runbook]]] = []

    def walk(owner: type, members: Mapping[str, Any], prefix: str) -> None:
        for attr, value in members.items():
            if isinstance(value, Include):
                child = included_runbook(owner, value, prefix + attr)
                found.append((prefix + attr, child))
                walk(child, entries(child), f"{prefix}{attr}.")
            elif is_section(value):
                walk(owner, entries(value), f"{prefix}{attr}.")

    walk(cls, entries(cls), "")
    return tuple(found)
