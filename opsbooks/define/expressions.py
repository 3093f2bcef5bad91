"""The expression language of ``when=`` and ``Branch(cases=...)``: a small grammar, no eval.

An expression compares params, gate answers and step outputs::

    error_rate > 5 and not dry_run
    params.version >= "1.10.0"
    answers.approve_db == "yes" or environment in ["staging", "dev"]

It is tokenized by one regex and parsed by a recursive-descent parser into frozen
nodes, so every name is known when the runbook class is defined (and checked there),
and a string that is not an expression is a clean ``ExpressionError``, never code
run by ``eval``. Grammar, loosest first::

    expr       := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand]
    operand    := name | number | string | "true" | "false" | list | "(" expr ")"
    list       := "[" [literal ("," literal)* [","]] "]"

A name is ``params.x``, ``answers.GATE_ID``, ``outputs.NAME`` or a bare ``x`` (a param,
else a gate's answer: the syntax ``when=`` always had). Evaluation lives in
``opsbooks.define.evaluate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

#: scopes a dotted name may start with
SCOPES = ("params", "answers", "outputs")
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
COMPARISONS = ("==", "!=", "<=", ">=", "<", ">", "in", "not in")
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*')
    | (?P<number>-?\d+(?:\.\d+)*)
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    )""",
    re.VERBOSE,
)
#: the one form ``when=`` accepted before expressions: ``[not] name [==|!= literal]``
_LEGACY = re.compile(r"^\s*(not\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:(==|!=)\s*(.+?))?\s*$")


class ExpressionError(ValueError):
    """An expression cannot be read, or cannot be evaluated for these values."""


@dataclass(frozen=True)
class Literal:
    """A number, a string (a dotted version like ``1.10.0`` is a string) or a boolean."""

    value: str | int | float | bool


@dataclass(frozen=True)
class ListOf:
    """A list of literals, the right side of ``in``."""

    items: tuple[Literal, ...]


@dataclass(frozen=True)
class Name:
    """A reference: ``scope`` is params, answers, outputs, or "" for a bare name."""

    scope: str
    key: str

    @property
    def text(self) -> str:
        return f"{self.scope}.{self.key}" if self.scope else self.key


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Logic:
    """``and`` / ``or`` over two or more operands, evaluated left to right."""

    op: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


Node = Literal | ListOf | Name | Not | Logic | Compare


@dataclass(frozen=True)
class _Tok:
    kind: str  # string, number, name, op, kw, end
    text: str
    at: int


def _tokens(source: str) -> list[_Tok]:
    out: list[_Tok] = []
    at = 0
    while True:
        while at < len(source) and source[at].isspace():
            at += 1
        if at >= len(source):
            out.append(_Tok("end", "", at))
            return out
        match = _TOKEN.match(source, at)
        if match is None or match.end() == at:
            raise ExpressionError(
                f"cannot read {source!r} at {source[at : at + 12]!r} (position {at + 1}); "
                f'quote text values, as in environment == "prod"'
            )
        group = match.lastgroup or "op"
        word = match.group(group)
        kind = "kw" if group == "name" and word in KEYWORDS else group
        out.append(_Tok(kind, word, match.start(group)))
        at = match.end()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.toks = _tokens(source)
        self.pos = 0

    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.pos + ahead, len(self.toks) - 1)]

    def take(self) -> _Tok:
        tok = self.peek()
        self.pos += 1
        return tok

    def accept(self, text: str) -> bool:
        if self.peek().kind in ("op", "kw") and self.peek().text == text:
            self.pos += 1
            return True
        return False

    def fail(self, wanted: str) -> ExpressionError:
        tok = self.peek()
        found = "the end" if tok.kind == "end" else repr(tok.text)
        return ExpressionError(
            f"cannot read {self.source!r}: expected {wanted} at position {tok.at + 1}, "
            f"found {found}"
        )

    def whole(self) -> Node:
        if self.peek().kind == "end":
            raise ExpressionError("an empty expression; write a condition such as 'dry_run'")
        node = self.logic("or")
        if self.peek().kind != "end":
            raise self.fail("an operator (==, !=, <, >, in, and, or)")
        return node

    def logic(self, op: str) -> Node:
        lower: Callable[[], Node] = self.conjunction if op == "or" else self.negation
        operands = [lower()]
        while self.accept(op):
            operands.append(lower())
        return operands[0] if len(operands) == 1 else Logic(op, tuple(operands))

    def conjunction(self) -> Node:
        return self.logic("and")

    def negation(self) -> Node:
        if self.peek().text == "not" and self.peek().kind == "kw":
            self.take()
            return Not(self.negation())
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        tok = self.peek()
        op = tok.text if tok.kind in ("op", "kw") and tok.text in COMPARISONS else None
        if tok.kind == "kw" and tok.text == "not" and self.peek(1).text == "in":
            self.take()
            op = "not in"
        if op is None:
            return left
        self.take()
        return Compare(op, left, self.operand())

    def operand(self) -> Node:
        tok = self.peek()
        if self.accept("("):
            inner = self.logic("or")
            if not self.accept(")"):
                raise self.fail("')'")
            return inner
        if self.accept("["):
            return self.listing()
        if tok.kind == "name":
            self.take()
            return name_of(tok.text, self.source)
        literal = self.literal()
        if literal is None:
            raise self.fail("a name, a number, a quoted string, true, false, '(' or '['")
        return literal

    def literal(self) -> Literal | None:
        tok = self.peek()
        if tok.kind == "string":
            self.take()
            return Literal(_unquote(tok.text))
        if tok.kind == "number":
            self.take()
            return Literal(_number(tok.text))
        if tok.kind == "kw" and tok.text in ("true", "false"):
            self.take()
            return Literal(tok.text == "true")
        return None

    def listing(self) -> ListOf:
        items: list[Literal] = []
        while not self.accept("]"):
            literal = self.literal()
            if literal is None:
                raise self.fail("a literal (a number, a quoted string, true, false) or ']'")
            items.append(literal)
            if not self.accept(","):
                if not self.accept("]"):
                    raise self.fail("',' or ']'")
                break
        return ListOf(tuple(items))


def name_of(dotted: str, source: str = "") -> Name:
    """A dotted name as a ``Name``; ``params.x`` and ``x`` both name the param ``x``."""
    head, _, rest = dotted.partition(".")
    if not rest:
        return Name("", head)
    if head in SCOPES and ("." not in rest or head == "answers"):  # a gate in a section: a.b
        return Name(head, rest)
    hint = f"{head}.{rest.split('.')[0]}" if head in SCOPES else f"params.{head}"
    raise ExpressionError(
        f"cannot read the name {dotted!r} in {source or dotted!r}: write a param as x or "
        f"params.x, a gate's answer as answers.GATE_ID, an output as outputs.NAME "
        f"(did you mean {hint}?)"
    )


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _number(text: str) -> str | int | float:
    """``5`` and ``1.5`` are numbers; ``1.10.0`` (two dots or more) is a version string."""
    if text.count(".") >= 2:
        return text
    return float(text) if "." in text else int(text)


def parse(source: str, known: Callable[[str], bool] | None = None) -> Node:
    """Parse ``source``; ``known(bare_name)`` keeps ``when="env == prod"`` meaning text.

    Before expressions, ``when=`` read the right side of ``name == value`` as text
    whether quoted or not. With ``known`` (conditions pass it), a bare word there that
    names nothing still reads as that text, so existing runbooks keep their meaning;
    without it (``Branch`` cases, new syntax only) the grammar is strict.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, got {type(source).__name__}")
    legacy = _LEGACY.match(source)
    try:
        node = _Parser(source).whole()
    except ExpressionError:
        if legacy is None or legacy.group(3) is None:
            raise
        return _legacy(legacy)
    if legacy is not None and legacy.group(3) is not None and isinstance(node, Compare | Not):
        return _legacy_bare(node, known)
    return node


def _legacy(match: re.Match[str]) -> Node:
    negate, name, op, literal = match.groups()
    node: Node = Compare(op, Name("", name), Literal(literal.strip().strip("'\"")))
    return Not(node) if negate else node


def _legacy_bare(node: Node, known: Callable[[str], bool] | None) -> Node:
    inner = node.operand if isinstance(node, Not) else node
    if not isinstance(inner, Compare) or not isinstance(inner.right, Name):
        return node
    right = inner.right
    if known is None or right.scope or known(right.key):
        return node
    fixed = Compare(inner.op, inner.left, Literal(right.key))
    return Not(fixed) if isinstance(node, Not) else fixed


def names(node: Node) -> Iterator[Name]:
    """Every name ``node`` refers to, left to right."""
    if isinstance(node, Name):
        yield node
    elif isinstance(node, Not):
        yield from names(node.operand)
    elif isinstance(node, Logic):
        for operand in node.operands:
            yield from names(operand)
    elif isinstance(node, Compare):
        yield from names(node.left)
        yield from names(node.right)


_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "compare": 4, "atom": 5}


def _level(node: Node) -> int:
    if isinstance(node, Logic):
        return _PRECEDENCE[node.op]
    if isinstance(node, Not):
        return _PRECEDENCE["not"]
    if isinstance(node, Compare):
        return _PRECEDENCE["compare"]
    return _PRECEDENCE["atom"]


def render(node: Node) -> str:
    """The canonical text of ``node``: ``parse(render(n)) == n`` for every parsed ``n``."""
    if isinstance(node, Literal):
        return render_value(node.value)
    if isinstance(node, ListOf):
        return "[" + ", ".join(render(item) for item in node.items) + "]"
    if isinstance(node, Name):
        return node.text
    if isinstance(node, Not):
        return "not " + _wrapped(node.operand, _PRECEDENCE["not"])
    if isinstance(node, Logic):
        here = _PRECEDENCE[node.op]
        return f" {node.op} ".join(_wrapped(o, here + 1) for o in node.operands)
    level = _PRECEDENCE["atom"]
    return f"{_wrapped(node.left, level)} {node.op} {_wrapped(node.right, level)}"


def _wrapped(node: Node, at_least: int) -> str:
    text = render(node)
    return text if _level(node) >= at_least else f"({text})"


def render_value(value: Any) -> str:
    """A literal as the expression language writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    quote = '"' if '"' not in text or "'" in text else "'"
    escaped = text.replace("\\", "\\\\")
    if quote in escaped:
        escaped = escaped.replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"
