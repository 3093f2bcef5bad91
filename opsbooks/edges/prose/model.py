"""The model of a prose runbook: what ``parse`` found and ``source`` writes, all frozen.

Every text here is the user's, unescaped; ``source`` quotes it. Ids are already valid,
unique Python identifiers (``parse`` makes them), so they are the one thing written
into the source as names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class StepModel:
    """A ``Manual`` step, or a ``Command`` (``argv`` or ``shell`` set).

    ``rule`` says which mapping rule decided the kind; it becomes a comment above the
    step, so the author sees why a command was left for a person.
    """

    id: str
    title: str
    text: str
    line: int
    rule: str
    argv: tuple[str, ...] = ()
    shell: str = ""

    @property
    def is_command(self) -> bool:
        return bool(self.argv or self.shell)


@dataclass(frozen=True)
class SectionModel:
    """A heading that holds steps: an ``ob.Section`` class."""

    id: str
    title: str
    description: str
    steps: tuple[StepModel, ...]


@dataclass(frozen=True)
class TroubleModel:
    symptom: str
    cause: str
    solution: str


@dataclass(frozen=True)
class Prose:
    """A prose runbook, mapped."""

    title: str
    purpose: str
    details: tuple[str, ...] = ()
    scope: str = ""
    owner: str = ""
    prerequisites: tuple[str, ...] = ()
    steps: tuple[StepModel, ...] = ()
    sections: tuple[SectionModel, ...] = ()
    verification: tuple[str, ...] = ()
    troubles: tuple[TroubleModel, ...] = ()
    recovery: str = ""
    #: names that look like ``category.name``; ``settle_related`` keeps the known ones
    related: tuple[str, ...] = ()
    #: related links that are not runbook names, kept as text in the docstring
    related_text: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def all_steps(self) -> tuple[StepModel, ...]:
        """Every step, the top-level ones first, then each section's (dotted ids)."""
        inner = tuple(
            replace(step, id=f"{section.id}.{step.id}")
            for section in self.sections
            for step in section.steps
        )
        return self.steps + inner

    def settle_related(self, known: frozenset[str]) -> Prose:
        """Keep in ``related`` only runbooks the catalog has; the rest become text.

        A link to a runbook that does not exist yet is a dead link on the page (lint
        rule ``related-unknown``), so it waits as text until that runbook is written.
        """
        kept = tuple(name for name in self.related if name in known)
        waiting = tuple(
            f"{name} (no such runbook yet)" for name in self.related if name not in known
        )
        return replace(self, related=kept, related_text=self.related_text + waiting)
