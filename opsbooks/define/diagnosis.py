"""``Diagnosis``: a leaf of a troubleshooting tree, the finding a run ends at.

A tree is probes that publish outputs, a ``Branch`` whose cases route on them, and
one ``Diagnosis`` per conclusion::

    probe = Command("getent hosts {host} >/dev/null && echo ::output dns=ok "
                    "|| echo ::output dns=fail", outputs=("dns",))
    decide = Branch(cases=[("outputs.dns == 'fail'", "dns_failed")], default="healthy")
    dns_failed = Diagnosis("Name resolution fails for {host}",
                           resolution="Check /etc/resolv.conf and the resolver.",
                           commands=["getent hosts {host}", "resolvectl status"])
    healthy = Diagnosis("No fault found for {host}", escalate="L2")

When a run reaches a diagnosis it prints the finding, the resolution and the
commands (templated, never run), records the facts ``diagnosis`` and
``diagnosis.finding`` (and ``escalated`` for an escalation leaf), and ends the run
successfully: every later step is skipped. Pure, like the rest of ``define``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from opsbooks.define.base import Step, bind_command, text
from opsbooks.define.specs import Binding

#: the escalation levels a leaf may name: the keys of ``[tool.opsbooks.contacts]``
LEVELS: tuple[str, ...] = ("L1", "L2", "L3")
#: what ``escalate`` must look like (a level name); checked against ``LEVELS`` too
LEVEL_NAME = re.compile(r"^L[0-9]+$")
#: the route a reached diagnosis takes: to the reserved end of the run, never a step id
END_ROUTE = "(end)"
_END = re.compile(r"^\(end:(?P<step>[^)]+)\)$")


def end_route(step_id: str) -> str:
    """The route a diagnosis ``step_id`` returns: the run's end, naming the leaf."""
    return f"(end:{step_id})"


def ended_at(route: str | None) -> str | None:
    """The diagnosis a route ends the run at, or None for a route to a step."""
    found = _END.match(route or "")
    return found.group("step") if found else None


def skip_reason(route: str) -> str:
    """Why a step after the branch/diagnosis jump ``route`` does not run."""
    leaf = ended_at(route)
    if leaf is not None:
        return f"the run ended at diagnosis {leaf}"
    return f"branch routed to {route}"


@dataclass(frozen=True)
class DiagnosisSpec:
    """A reached finding: what to tell the operator, and who to escalate to."""

    finding: str
    resolution: str = ""
    commands: tuple[str, ...] = ()
    escalate: str = ""
    label: str = ""


@dataclass(frozen=True)
class Diagnosis(Step):
    """A leaf of a troubleshooting tree: say what is wrong and how to fix it, then end.

    ``finding`` (a template) is the conclusion; ``resolution`` what to do about it;
    ``commands`` (templates) the commands a person runs to fix or confirm it: shown,
    never run. ``escalate="L2"`` makes it an escalation leaf naming that level's
    contact from ``[tool.opsbooks.contacts]``. Reaching it ends the run successfully.
    """

    kind: ClassVar[str] = "diagnosis"

    finding: str
    resolution: str = field(default="", kw_only=True)
    commands: Sequence[str] = field(default=(), kw_only=True)
    escalate: str = field(default="", kw_only=True)

    def __post_init__(self) -> None:
        super().__post_init__()
        commands = (self.commands,) if isinstance(self.commands, str) else tuple(self.commands)
        object.__setattr__(self, "commands", commands)

    def templates(self) -> list[str]:
        return [self.finding, self.resolution, *self.commands]

    def bind(self, values: Mapping[str, Any], runbook: Any = None) -> Binding:
        spec = DiagnosisSpec(
            finding=text(self.finding, values),
            resolution=text(self.resolution, values),
            commands=tuple(bind_command(c, values).shown for c in self.commands),
            escalate=self.escalate,
            label=self.title,
        )
        return Binding(text=spec.finding, spec=spec)

    def shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {"finding": self.finding, "resolution": self.resolution}
        shape["commands"] = list(self.commands)
        return shape | ({"escalate": self.escalate} if self.escalate else {})


def fact_value(finding: str) -> str:
    """A finding as one ``::fact`` line's value: one line, no trailing ``@time`` read."""
    flat = " ".join(finding.split())
    return flat.replace(" @", " at ")


__all__ = ["Diagnosis", "DiagnosisSpec", "end_route", "ended_at", "skip_reason"]
