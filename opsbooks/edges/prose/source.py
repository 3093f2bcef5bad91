"""Write the model as a runbook module in the house template, every text a literal.

Step text goes through ``template_text`` first: opsbooks reads ``{name}`` in a title,
an instruction or a command as a placeholder, so each brace of the prose is doubled and
the page shows it as written. A doc section the prose lacks gets a sentence that says
so and what to write, because ``opsbooks lint`` requires every section of the template.
"""

from __future__ import annotations

from dataclasses import dataclass

from opsbooks.edges.prose.commands import explain
from opsbooks.edges.prose.literals import assign, call, docstring, lit, str_tuple
from opsbooks.edges.prose.model import Prose, SectionModel, StepModel, TroubleModel

MISSING = "Not stated in the prose runbook"
IRREVERSIBLE = f"{MISSING}: give undo=... or say here why it cannot be undone"
DEFAULT_TROUBLE = TroubleModel(
    symptom="A step cannot be carried out as written",
    cause="The system changed since the runbook was written, or a prerequisite is missing.",
    solution=(
        "Stop there (the run waits; Ctrl-C is safe), escalate to the contacts, fix the "
        "runbook, then continue with `opsbooks resume`."
    ),
)


@dataclass(frozen=True)
class Header:
    """What the module says about itself: its name, owner, date, where it came from."""

    name: str  # category.name
    class_name: str
    owner: str
    today: str  # YYYY-MM-DD
    origin: str  # e.g. "runbook.md", shown in the change log


def template_text(text: str) -> str:
    """``text`` as an opsbooks template that renders to exactly ``text``."""
    return text.replace("{", "{{").replace("}", "}}")


def render_module(prose: Prose, header: Header) -> str:
    """The module's source: docstring, imports, the runbook class."""
    lines = [
        *docstring(
            "", [f"The runbook {header.name}, written by `opsbooks new` ({header.origin})."]
        ),
        "",
        "from __future__ import annotations",
        "",
        "import opsbooks as ob",
        "",
        "",
        f"class {header.class_name}(ob.Runbook):",
        *docstring("    ", _class_doc(prose)),
        "",
        *_doc_sections(prose, header),
    ]
    for step in prose.steps:
        lines += ["", *_step(step, "    ")]
    for section in prose.sections:
        lines += ["", *_section(section)]
    return "\n".join(lines) + "\n"


def _class_doc(prose: Prose) -> list[str]:
    paragraphs = [prose.purpose, *prose.details]
    if prose.related_text:
        paragraphs.append("Related (not runbooks of the catalog): " + "; ".join(prose.related_text))
    if prose.notes:
        paragraphs.append("Notes from the prose runbook: " + " ".join(prose.notes))
    return paragraphs


def _doc_sections(prose: Prose, header: Header) -> list[str]:
    indent = "    "
    scope = prose.scope or f"{MISSING}: say which hosts, services and environments it covers."
    prerequisites = list(prose.prerequisites) or [f"{MISSING}: list the access and tools it needs"]
    verification = list(prose.verification) or [f"{MISSING}: list what shows it worked"]
    recovery = prose.recovery or (
        f"{MISSING}. `opsbooks report` lists every step done so far: undo those by hand, "
        f"newest first, and escalate to the contacts."
    )
    lines = [
        *assign(indent, "title", prose.title),
        *assign(indent, "owner", prose.owner or header.owner),
        *assign(indent, "scope", scope),
        *str_tuple(indent, "prerequisites =", prerequisites),
        *str_tuple(indent, "verification =", verification),
        f"{indent}troubleshooting = (",
        *(line for t in (prose.troubles or (DEFAULT_TROUBLE,)) for line in _trouble(t)),
        f"{indent})",
        *assign(indent, "recovery", recovery),
        *str_tuple(indent, "related =", list(prose.related)),
        *assign(indent, "last_reviewed", header.today),
        f"{indent}review_every_days = 180",
        # a list: `opsbooks review` appends to it
        f"{indent}changelog = [  # noqa: RUF012",
        *call(
            indent * 2,
            "ob.Change",
            [lit(header.today), lit(f"First version, written by `opsbooks new` ({header.origin})")],
            [],
            ",",
        ),
        f"{indent}]",
    ]
    return lines


def _trouble(trouble: TroubleModel) -> list[str]:
    fields = [
        ("symptom", trouble.symptom or MISSING),
        ("cause", trouble.cause or f"{MISSING}."),
        ("solution", trouble.solution or f"{MISSING}: escalate to the contacts."),
    ]
    return call("        ", "ob.Trouble", [], [(k, lit(v)) for k, v in fields], ",")


def _step(step: StepModel, indent: str) -> list[str]:
    """One step, with the comment that says which rule made it what it is."""
    title = ("title", lit(template_text(step.title)))
    if step.is_command:
        command = lit(template_text(step.shell)) if step.shell else _argv(step.argv)
        keywords = [title]
        if step.text:
            keywords.append(("description", lit(template_text(step.text))))
        keywords.append(("irreversible", lit(IRREVERSIBLE)))
        comment = f"{indent}# line {step.line}: Command, {explain(step.rule)}"
        return [comment, *call(indent, f"{step.id} = ob.Command", [command], keywords)]
    why = "" if step.rule.endswith("item") else f", because {explain(step.rule)}"
    comment = f"{indent}# line {step.line}: Manual ({step.rule.split(':')[0]}){why}"
    body = call(indent, f"{step.id} = ob.Manual", [lit(template_text(step.text))], [title])
    return [comment, *body]


def _argv(argv: tuple[str, ...]) -> str:
    return "[" + ", ".join(lit(template_text(word)) for word in argv) + "]"


def _section(section: SectionModel) -> list[str]:
    lines = [
        f"    class {section.id}(ob.Section):",
        *docstring("        ", [section.title, section.description]),
    ]
    for step in section.steps:
        lines += ["", *_step(step, "        ")]
    return lines
