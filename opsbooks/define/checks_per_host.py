"""Definition checks of node-first sections (``class upgrade(ob.Section, per_host=True)``).

A node-first section runs every one of its steps on one host (or batch) before the
next, so each step must be a host step on the same hosts: a local command has no
"host 2", and two targets have no common order. Its roll-out is the section's, so a
step that declares its own batches or threshold would be silently overridden; it is
refused instead, naming the step and the fix.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from opsbooks.define.base import Step, is_remote
from opsbooks.define.policies import seconds
from opsbooks.define.sections import SectionInfo
from opsbooks.errors import DefinitionError

if TYPE_CHECKING:
    from opsbooks.define.remote import Remote
    from opsbooks.define.runbook import Runbook

_LIMIT = re.compile(r"\s*\d+(\.\d+)?\s*%\s*|\s*\d+\s*")
_HOST_KINDS = "Remote, RemoteVerify, RemoteWait, Upload or Download"


def check_per_host(cls: type[Runbook]) -> None:
    """Raise ``DefinitionError`` for the first problem with a node-first section."""
    for info in cls.sections:
        if info.rollout is not None:
            _check_rollout(cls, info)
            _check_members(cls, info)


def _check_rollout(cls: type[Runbook], info: SectionInfo) -> None:
    rollout = info.rollout
    assert rollout is not None
    size = rollout.batch_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DefinitionError(
            cls.name,
            f"node-first section {info.id!r}: batch_size={size!r} must be a whole number "
            "of hosts, at least 1 (batch_size = 2 runs the section on two hosts at a time)",
            step=info.id,
        )
    limit = rollout.max_failures
    if isinstance(limit, bool) or not (
        (isinstance(limit, int) and limit >= 0)
        or (isinstance(limit, str) and _LIMIT.fullmatch(limit))
    ):
        raise DefinitionError(
            cls.name,
            f"node-first section {info.id!r}: max_failures={limit!r} is how many failed "
            "hosts the section tolerates: give a count like 1 or a percentage like '25%'",
            step=info.id,
        )
    section = _section_class(cls, info.id)
    pause = getattr(section, "pause_between_batches", False)
    if not isinstance(pause, bool):
        try:
            seconds(pause)
        except (TypeError, ValueError):
            raise DefinitionError(
                cls.name,
                f"node-first section {info.id!r}: pause_between_batches={pause!r} is "
                "neither True (ask between batches) nor a duration such as '30s'",
                step=info.id,
            ) from None


def _section_class(cls: type, section_id: str) -> type | None:
    """The nested class that declares ``section_id`` (a dotted path of attributes)."""
    found: object = cls
    for part in section_id.split("."):
        found = getattr(found, part, None)
    return found if isinstance(found, type) else None


def _check_members(cls: type[Runbook], info: SectionInfo) -> None:
    inner = [s for s in cls.sections if s.id.startswith(info.id + ".")]
    if inner:
        what = "an Include" if inner[0].include else "a section"
        raise DefinitionError(
            cls.name,
            f"node-first section {info.id!r} holds {what} "
            f"({inner[0].id}); a per_host section holds host steps only: move "
            f"{inner[0].id} out of it, or make it a plain section",
            step=inner[0].id,
        )
    members = [s for s in cls.steps if s.id.startswith(info.id + ".")]
    target: tuple[str, str] | None = None
    first: Remote | None = None
    for item in members:
        _check_host_step(cls, info, item, "step")
        assert is_remote(item)
        here = (item.role, item.hosts)
        if target is None:
            target, first = here, item
        elif here != target and first is not None:
            raise DefinitionError(
                cls.name,
                f"step {item.id} runs on {_target(item)} but {first.id} on "
                f"{_target(first)}: every step of node-first section {info.id!r} "
                "runs on the same hosts; give them the same role= (or hosts=), or move "
                f"{item.id} out of the section",
                step=item.id,
            )
        undo = cls.compensations.get(item.undo) if isinstance(item.undo, str) else None
        if undo is not None:
            _check_host_step(cls, info, undo, f"undo of {item.id}")
            assert is_remote(undo)
            if (undo.role, undo.hosts) != here:
                raise DefinitionError(
                    cls.name,
                    f"the undo {undo.id} of {item.id} runs on {_target(undo)}, not on "
                    f"{_target(item)}: in node-first section {info.id!r} an undo is "
                    "undone host by host, so it must run on the same hosts as its step",
                    step=undo.id,
                )


def _check_host_step(cls: type[Runbook], info: SectionInfo, item: Step, what: str) -> None:
    if not is_remote(item):
        raise DefinitionError(
            cls.name,
            f"{what} {item.id} is a {type(item).__name__} step, but node-first section "
            f"{info.id!r} runs its steps host by host: use a host step ({_HOST_KINDS}) "
            "there, or move it out of the section (before or after it)",
            step=item.id,
        )
    own = [
        name
        for name, value, plain in (
            ("strategy='batches'", item.strategy, "batches"),
            (f"batch_size={item.batch_size}", item.batch_size != 1, True),
            (f"max_failures={item.max_failures!r}", str(item.max_failures) not in ("0",), True),
            ("canary=True", item.canary, True),
            ("pause_between_batches", item.pause_between_batches is not False, True),
        )
        if value == plain
    ]
    if own:
        raise DefinitionError(
            cls.name,
            f"{what} {item.id} declares its own roll-out ({', '.join(own)}), but node-first "
            f"section {info.id!r} rolls its steps out together: set batch_size, "
            "max_failures and pause_between_batches on the section class instead",
            step=item.id,
        )


def _target(item: Remote) -> str:
    return f"hosts {item.hosts!r}" if item.hosts else f"role {item.role!r}"
