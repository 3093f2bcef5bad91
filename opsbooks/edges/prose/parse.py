"""Map the blocks of a prose runbook onto the model, one rule per kind of heading.

The rules, as the guide's table lists them: the first heading is the title and the
first paragraph the purpose; numbered and checklist items under any other heading are
``Manual`` steps (their nested lines and code go with them); a shell code block of plain
commands is ``Command`` steps (see ``commands``); a heading that holds steps is a
section; "Verification" items the verification list; "Issue: ..." blocks with
Symptoms/Cause/Solution ``Trouble`` entries; "Related" links ``related`` when they look
like ``category.name``. Whatever fits no rule is kept as text in the docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opsbooks.edges.prose import texts
from opsbooks.edges.prose.commands import judge
from opsbooks.edges.prose.markdown import Block, blocks
from opsbooks.edges.prose.model import Prose, SectionModel, StepModel, TroubleModel

#: what a step or section id may not be: the Runbook's own attributes (passed by the caller)
_ALWAYS_RESERVED = frozenset({"ob", "annotations", "params", "outputs", "answers", "host"})


class NoProcedure(ValueError):
    """The text has no numbered list, checklist or code block to make steps of."""


@dataclass
class _Section:
    title: str
    id: str = ""
    description: list[str] = field(default_factory=list)
    steps: list[StepModel] = field(default_factory=list)


@dataclass
class _Draft:
    reserved: frozenset[str]
    title: str = ""
    purpose: str = ""
    details: list[str] = field(default_factory=list)
    scope: list[str] = field(default_factory=list)
    owner: str = ""
    prerequisites: list[str] = field(default_factory=list)
    top: _Section = field(default_factory=lambda: _Section(""))
    sections: list[_Section] = field(default_factory=list)
    verification: list[str] = field(default_factory=list)
    troubles: list[dict[str, str]] = field(default_factory=list)
    recovery: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    related_text: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)

    def new_id(self, text: str) -> str:
        return texts.ident(text, self.taken, self.reserved)


def parse_prose(text: str, *, reserved: frozenset[str] = frozenset(), fallback: str = "") -> Prose:
    """The model of ``text``; ``NoProcedure`` when nothing in it becomes a step."""
    draft = _Draft(reserved=reserved | _ALWAYS_RESERVED)
    _walk(draft, _group(blocks(text)))
    sections = tuple(
        SectionModel(s.id, s.title, "\n\n".join(s.description), tuple(s.steps))
        for s in draft.sections
        if s.steps
    )
    if not draft.top.steps and not sections:
        raise NoProcedure("no numbered list, checklist or shell code block outside Verification")
    details = [d for s in draft.sections if not s.steps for d in [s.title, *s.description]]
    title = texts.plain(draft.title) or fallback
    return Prose(
        title=title,
        purpose=draft.purpose or title,
        details=tuple(draft.details + draft.top.description + details),
        scope=" ".join(draft.scope),
        owner=draft.owner,
        prerequisites=tuple(draft.prerequisites),
        steps=tuple(draft.top.steps),
        sections=sections,
        verification=tuple(draft.verification),
        troubles=tuple(_trouble(t) for t in draft.troubles),
        recovery="\n".join(draft.recovery),
        related=tuple(dict.fromkeys(draft.related)),
        related_text=tuple(draft.related_text),
        notes=tuple(draft.notes),
    )


Unit = tuple[Block, list[Block]]


def _group(found: list[Block]) -> list[Unit]:
    """Each block with the more indented blocks under it (an item's lines and code)."""
    units: list[Unit] = []
    for block in found:
        if units and block.kind != "heading" and _nests(units[-1][0], block):
            units[-1][1].append(block)
        else:
            units.append((block, []))
    return units


def _nests(owner: Block, block: Block) -> bool:
    return owner.kind == "item" and block.indent > owner.indent


def _walk(draft: _Draft, units: list[Unit]) -> None:
    path: list[tuple[int, str]] = []  # (level, kind) of the headings above
    kind = "top"
    for block, children in units:
        if block.kind == "heading":
            kind = _enter(draft, block, path)
            continue
        handler = HANDLERS.get(kind)
        if handler is not None:
            handler(draft, block, children)
        else:
            in_section = kind == "section" and bool(draft.sections)
            _procedure(draft, block, children, draft.sections[-1] if in_section else None)


def _enter(draft: _Draft, block: Block, path: list[tuple[int, str]]) -> str:
    """Start a heading: the title, a trouble, a section, or a kind of doc section."""
    while path and path[-1][0] >= block.level:
        path.pop()
    if not draft.title and not path:
        draft.title = block.text
        path.append((block.level, "top"))
        return "top"
    issue = texts.issue_of(block.text)
    under_steps = any(k in ("procedure", "section") for _, k in path)
    if issue is not None:
        draft.troubles.append({"issue": issue})
        kind = "issue"
    elif under_steps or texts.heading_kind(block.text) == "section":
        title = texts.title_of(block.text)
        draft.sections.append(_Section(title, draft.new_id(title)))
        kind = "section"
    else:
        kind = texts.heading_kind(block.text)
        if kind == "notes":
            draft.notes.append(texts.plain(block.text))
    path.append((block.level, kind))
    return kind


def _lines(block: Block, children: list[Block]) -> str:
    """An item or paragraph with its nested lines, as Markdown text."""
    parts = [block.text]
    for child in children:
        if child.kind == "item":
            parts.append(f"{'  ' * (1 + child.indent // 4)}- {child.text}")
        elif child.kind == "code":
            parts.append(f"\n```{child.lang}\n{child.text}\n```")
        else:
            parts.append(child.text)
    return "\n".join(parts)


def _about(draft: _Draft, block: Block, children: list[Block]) -> None:
    pair = texts.key_value(block.text)
    if pair and _keyed(draft, *pair):
        return
    text = texts.plain(_lines(block, children)) if pair else _lines(block, children)
    if block.kind == "para" and not draft.purpose:
        draft.purpose = text
    else:
        draft.details.append(text)


def _keyed(draft: _Draft, key: str, value: str) -> bool:
    """``**Purpose:** x``, ``**Scope:** x``, ``**Prerequisites:** x``, ``**Owner:** x``."""
    word = key.lower()
    if word.startswith("purpose") and not draft.purpose:
        draft.purpose = value
    elif word.startswith("scope"):
        draft.scope.append(value)
    elif word.startswith(("prerequisite", "requirement")):
        draft.prerequisites.append(value)
    elif word.startswith("owner"):
        draft.owner = value
    else:
        return False
    return True


def _scope(draft: _Draft, block: Block, children: list[Block]) -> None:
    draft.scope.append(texts.plain(_lines(block, children)))


def _prerequisites(draft: _Draft, block: Block, children: list[Block]) -> None:
    draft.prerequisites.append(_lines(block, children))


def _verification(draft: _Draft, block: Block, children: list[Block]) -> None:
    if block.kind == "item":
        draft.verification.append(_lines(block, children))
    else:
        draft.notes.append(_lines(block, children))


def _troubleshooting(draft: _Draft, block: Block, children: list[Block]) -> None:
    """``**Key:** value`` bullets are entries; Issue/Symptoms/Cause/Solution keys fill one.

    A key the entry has already (a second ``**Issue:**``) starts the next entry.
    """
    parts = texts.keyed_parts(block.text)
    if not parts:
        draft.notes.append(_lines(block, children))
        return
    for key, value in parts:
        name = _trouble_field(key)
        if name is None:  # "**Common Issues:** ...": an entry of its own
            draft.troubles.append({"issue": key, "solution": value})
        elif not draft.troubles or name in draft.troubles[-1]:
            draft.troubles.append({name: value})
        else:
            draft.troubles[-1][name] = value


def _issue(draft: _Draft, block: Block, children: list[Block]) -> None:
    """The Symptoms/Cause/Solution lines under an ``Issue: ...`` heading."""
    parts = texts.keyed_parts(block.text)
    current = draft.troubles[-1]
    if not parts:
        current["solution"] = " ".join(filter(None, [current.get("solution", ""), block.text]))
    for key, value in parts:
        current[_trouble_field(key) or "solution"] = value


def _trouble_field(key: str) -> str | None:
    word = key.lower()
    for name, starts in (
        ("issue", ("issue", "problem")),
        ("symptoms", ("symptom", "what you see")),
        ("cause", ("cause", "reason", "why")),
        ("solution", ("solution", "fix", "resolution", "remedy", "action")),
    ):
        if word.startswith(starts):
            return name
    return None


def _trouble(found: dict[str, str]) -> TroubleModel:
    issue, symptoms = found.get("issue", ""), found.get("symptoms", "")
    symptom = f"{issue}: {symptoms}" if issue and symptoms else issue or symptoms
    return TroubleModel(symptom, found.get("cause", ""), found.get("solution", ""))


def _recovery(draft: _Draft, block: Block, children: list[Block]) -> None:
    text = texts.plain(_lines(block, children)) if block.kind != "code" else block.text
    draft.recovery.append(f"- {text}" if block.kind == "item" else text)


def _related(draft: _Draft, block: Block, children: list[Block]) -> None:
    for text, target in texts.links(block.text):
        name = texts.runbook_name((text, target))
        if name:
            draft.related.append(name)
        elif text or target:
            draft.related_text.append(f"{text} ({target})" if target and text else text or target)


def _notes(draft: _Draft, block: Block, children: list[Block]) -> None:
    draft.notes.append(_lines(block, children))


def _procedure(draft: _Draft, block: Block, children: list[Block], within: _Section | None) -> None:
    """Steps: numbered and checklist items, code blocks; other text describes the section."""
    section = within or draft.top
    if block.kind == "code":
        section.steps.extend(_code_steps(draft, block, block.text, None))
    elif block.kind == "item" and (block.ordered or block.checklist):
        section.steps.extend(_item_steps(draft, block, children))
    elif section is draft.top and block.kind == "para" and not draft.purpose:
        draft.purpose = _lines(block, children)
    else:
        section.description.append(_lines(block, children))


def _item_steps(draft: _Draft, block: Block, children: list[Block]) -> list[StepModel]:
    codes = [child for child in children if child.kind == "code"]
    if len(codes) == 1:
        made = _code_steps(draft, codes[0], _lines(block, children), block.text)
        if made:
            return made
    title = texts.title_of(block.text)
    text = _lines(block, children)
    rule = "numbered item" if block.ordered else "checklist item"
    return [StepModel(draft.new_id(title), title, text, block.line, rule)]


def _code_steps(draft: _Draft, code: Block, shown: str, label: str | None) -> list[StepModel]:
    """Command steps for a plain block; else one Manual step showing it."""
    verdict = judge(code.text, code.lang)
    if not verdict.commands:
        first = code.text.strip().split("\n", 1)[0]
        title = texts.title_of(label) if label else texts.title_of(f"Run {first}")
        text = shown if label else f"Run by hand:\n\n```{code.lang}\n{code.text}\n```"
        return [StepModel(draft.new_id(title), title, text, code.line, verdict.rule)]
    steps = []
    for number, command in enumerate(verdict.commands, start=1):
        words = command if isinstance(command, str) else " ".join(command)
        title = texts.title_of(label) if label else texts.title_of(f"Run {words}")
        if label and len(verdict.commands) > 1:
            title = f"{title} ({number}/{len(verdict.commands)})"
        step = StepModel(draft.new_id(title), title, label or "", code.line, "plain")
        if isinstance(command, str):
            steps.append(_with(step, shell=command))
        else:
            steps.append(_with(step, argv=command))
    return steps


def _with(step: StepModel, *, shell: str = "", argv: tuple[str, ...] = ()) -> StepModel:
    return StepModel(step.id, step.title, step.text, step.line, step.rule, argv, shell)


HANDLERS = {
    "about": _about,
    "scope": _scope,
    "prerequisites": _prerequisites,
    "verification": _verification,
    "troubleshooting": _troubleshooting,
    "issue": _issue,
    "recovery": _recovery,
    "related": _related,
    "notes": _notes,
}
