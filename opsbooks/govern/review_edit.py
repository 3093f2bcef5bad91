"""Record a review in a runbook's source: its ``last_reviewed`` and a ``Change`` entry.

Pure text in, text out, through libcst's concrete syntax tree: every byte of the file
outside the two edited statements (comments, quotes, blank lines, layout) is kept, which
a regex edit cannot promise. The runbook class is found by name at module level.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import libcst as cst

from opsbooks.errors import BadInput

LINE_LIMIT = 100


@dataclass(frozen=True)
class Review:
    """Who reviewed, when, and what they noted."""

    reviewer: str
    date: str
    notes: str


def review_source(source: str, class_name: str, review: Review, *, where: str = "") -> str:
    """Return ``source`` with the class's ``last_reviewed`` set and a change log entry added."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise BadInput(f"{where or 'the runbook module'} does not parse: {exc}") from None
    editor = _Editor(class_name, review, module)
    edited = module.visit(editor)
    if not editor.found:
        raise BadInput(
            f"no class {class_name} at module level in {where or 'the module'}; "
            f"`opsbooks review` edits runbooks defined at the top of their module"
        )
    return edited.code


def unified_diff(before: str, after: str, path: str) -> str:
    """The edit as a unified diff, the way ``--print`` shows it."""
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )


class _Editor(cst.CSTTransformer):
    def __init__(self, class_name: str, review: Review, module: cst.Module) -> None:
        self.class_name = class_name
        self.review = review
        self.module = module
        self.found = False
        self.depth = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.depth += 1
        return False  # the edit is done in leave_ClassDef, on the class's own body

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.depth -= 1
        if self.depth or original.name.value != self.class_name:
            return updated
        self.found = True
        assert isinstance(updated.body, cst.IndentedBlock)
        indent = updated.body.indent or self.module.default_indent
        body = list(updated.body.body)
        body = _set_reviewed(body, self.review.date)
        body = _add_change(body, self._change_call(body), indent, self.module)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def _change_call(self, body: list[cst.BaseStatement]) -> cst.Call:
        func = _existing_change_func(body) or _change_name(self.module)
        args = [
            cst.Arg(_string(self.review.date)),
            cst.Arg(_string(f"Reviewed: {self.review.notes}")),
            cst.Arg(
                _string(self.review.reviewer),
                keyword=cst.Name("author"),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            ),
        ]
        return cst.Call(func=func, args=_commas(args))


def _string(value: str) -> cst.SimpleString:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return cst.SimpleString(f'"{escaped}"')


def _commas(args: list[cst.Arg]) -> list[cst.Arg]:
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return [a.with_changes(comma=comma) for a in args[:-1]] + args[-1:]


def _assign(statement: cst.BaseStatement) -> cst.Assign | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            return small
    return None


def _targets(assign: cst.Assign) -> list[str]:
    target = assign.targets[0].target
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple):
        return [e.value.value if isinstance(e.value, cst.Name) else "" for e in target.elements]
    return []


def _set_reviewed(body: list[cst.BaseStatement], date: str) -> list[cst.BaseStatement]:
    for index, statement in enumerate(body):
        assign = _assign(statement)
        if assign is None or "last_reviewed" not in _targets(assign):
            continue
        names = _targets(assign)
        if len(names) == 1:
            value = _restyled(assign.value, date)
            new = assign.with_changes(value=value)
        elif isinstance(assign.value, cst.Tuple) and len(assign.value.elements) == len(names):
            at = names.index("last_reviewed")
            elements = list(assign.value.elements)
            elements[at] = elements[at].with_changes(value=_restyled(elements[at].value, date))
            new = assign.with_changes(value=assign.value.with_changes(elements=elements))
        else:
            continue
        assert isinstance(statement, cst.SimpleStatementLine)
        body[index] = statement.with_changes(body=[new])
        return body
    line = cst.parse_statement(f'last_reviewed = "{date}"\n')
    return [*body[: _after_docstring(body)], line, *body[_after_docstring(body) :]]


def _restyled(old: cst.BaseExpression, date: str) -> cst.BaseExpression:
    """The new date in the old string's quote style (a ``date(...)`` becomes a string)."""
    if isinstance(old, cst.SimpleString):
        quote = old.value[-1]
        return old.with_changes(value=f"{quote}{date}{quote}")
    return _string(date)


def _after_docstring(body: list[cst.BaseStatement]) -> int:
    first = body[0] if body else None
    if not isinstance(first, cst.SimpleStatementLine) or not isinstance(first.body[0], cst.Expr):
        return 0
    return int(isinstance(first.body[0].value, cst.SimpleString | cst.ConcatenatedString))


def _changelog(body: list[cst.BaseStatement]) -> tuple[int, cst.Assign] | None:
    for index, statement in enumerate(body):
        assign = _assign(statement)
        if assign is not None and _targets(assign) == ["changelog"]:
            return index, assign
    return None


def _existing_change_func(body: list[cst.BaseStatement]) -> cst.BaseExpression | None:
    found = _changelog(body)
    if found is None or not isinstance(found[1].value, cst.List | cst.Tuple):
        return None
    for element in found[1].value.elements:
        if isinstance(element.value, cst.Call):
            return element.value.func
    return None


def _change_name(module: cst.Module) -> cst.BaseExpression:
    """``ob.Change`` (or however the module imports opsbooks): the name a new entry uses."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    if cst.helpers.get_full_name_for_node(alias.name) == "opsbooks":
                        name = alias.asname.name if alias.asname else alias.name
                        assert isinstance(name, cst.Name)
                        return cst.Attribute(value=name, attr=cst.Name("Change"))
            if (
                isinstance(small, cst.ImportFrom)
                and not isinstance(small.names, cst.ImportStar)
                and any(_imported(a) == "Change" for a in small.names)
            ):
                return cst.Name("Change")
    return cst.Attribute(value=cst.Name("ob"), attr=cst.Name("Change"))


def _imported(alias: cst.ImportAlias) -> str:
    name = alias.asname.name if alias.asname else alias.name
    return name.value if isinstance(name, cst.Name) else ""


def _add_change(
    body: list[cst.BaseStatement], call: cst.Call, indent: str, module: cst.Module
) -> list[cst.BaseStatement]:
    found = _changelog(body)
    if found is None or not isinstance(found[1].value, cst.List):
        line = cst.parse_statement(f"changelog = [{module.code_for_node(call)}]\n")
        at = _reviewed_index(body)
        return [*body[: at + 1], line, *body[at + 1 :]]
    index, assign = found
    listed = _appended(assign.value, call)  # type: ignore[arg-type]
    statement = body[index]
    assert isinstance(statement, cst.SimpleStatementLine)
    new = statement.with_changes(body=[assign.with_changes(value=listed)])
    longest = max(len(line) for line in module.code_for_node(new).splitlines())
    if longest + len(indent) > LINE_LIMIT:
        new = statement.with_changes(body=[assign.with_changes(value=_exploded(listed, indent))])
    body[index] = new
    return body


def _reviewed_index(body: list[cst.BaseStatement]) -> int:
    for index, statement in enumerate(body):
        assign = _assign(statement)
        if assign is not None and "last_reviewed" in _targets(assign):
            return index
    return len(body) - 1


def _appended(listed: cst.List, call: cst.Call) -> cst.List:
    """``listed`` with ``call`` appended, in the list's own layout (comments kept in place)."""
    elements = list(listed.elements)
    if not elements:
        return listed.with_changes(elements=[cst.Element(call)])
    last = elements[-1]
    opening, closing = listed.lbracket.whitespace_after, listed.rbracket.whitespace_before
    if isinstance(opening, cst.ParenthesizedWhitespace) and isinstance(
        closing, cst.ParenthesizedWhitespace
    ):
        # one entry a line: the line break (and its comment) stays after the old last
        # entry, indented like the entries; the new entry ends the way the old one did
        comma = last.comma if isinstance(last.comma, cst.Comma) else cst.Comma()
        kept = closing.with_changes(last_line=opening.last_line)
        elements[-1] = last.with_changes(comma=comma.with_changes(whitespace_after=kept))
        elements.append(cst.Element(call, comma=cst.Comma() if last.comma is comma else last.comma))
        bare = closing.with_changes(first_line=cst.TrailingWhitespace())
        return listed.with_changes(
            elements=elements, rbracket=listed.rbracket.with_changes(whitespace_before=bare)
        )
    elements[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    elements.append(cst.Element(call, comma=last.comma))
    return listed.with_changes(elements=elements)


def _exploded(listed: cst.List, indent: str) -> cst.List:
    """The list one element a line, with a trailing comma: the layout ruff would give it."""

    def newline(depth: str) -> cst.ParenthesizedWhitespace:
        return cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(),
            last_line=cst.SimpleWhitespace(depth),
        )

    inner = indent + indent[:4] if indent else "        "
    elements = [
        e.with_changes(comma=cst.Comma(whitespace_after=newline(inner))) for e in listed.elements
    ]
    elements[-1] = elements[-1].with_changes(comma=cst.Comma(whitespace_after=newline(indent)))
    return listed.with_changes(
        lbracket=cst.LeftSquareBracket(whitespace_after=newline(inner)),
        rbracket=cst.RightSquareBracket(),
        elements=elements,
    )
