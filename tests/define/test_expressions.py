"""The expression language: parsing, the rules of comparison, partial evaluation, and
properties (arbitrary text never raises anything but ``ExpressionError``; a parsed
expression renders to text that parses back to the same expression)."""

from __future__ import annotations

import contextlib
import enum
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from opsbooks.define.conditions import compile_when
from opsbooks.define.evaluate import Scope, described, holds, known
from opsbooks.define.expressions import (
    Compare,
    ExpressionError,
    ListOf,
    Literal,
    Logic,
    Name,
    Node,
    Not,
    names,
    parse,
    render,
)


class Tier(enum.Enum):
    GOLD = "gold"


def check(expr: str, **params: Any) -> bool:
    return holds(parse(expr), Scope(params=params))


# reading


def test_precedence_is_or_then_and_then_not_then_comparison() -> None:
    node = parse("not a == 1 or b and c")
    assert node == Logic(
        "or",
        (
            Not(Compare("==", Name("", "a"), Literal(1))),
            Logic("and", (Name("", "b"), Name("", "c"))),
        ),
    )


def test_names_have_scopes() -> None:
    node = parse("params.v >= '1.10.0' and answers.go and outputs.rate < 5 and x")
    assert [n.text for n in names(node)] == ["params.v", "answers.go", "outputs.rate", "x"]


def test_literals_lists_and_versions() -> None:
    assert parse("x in [1, 2.5, 'a', true]") == Compare(
        "in",
        Name("", "x"),
        ListOf((Literal(1), Literal(2.5), Literal("a"), Literal(True))),
    )
    assert parse("v < 1.10.0") == Compare("<", Name("", "v"), Literal("1.10.0"))
    assert parse("x not in []") == Compare("not in", Name("", "x"), ListOf(()))


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "empty expression"),
        ("a ==", "expected a name, a number"),
        ("(a", "expected ')'"),
        ("a b", "expected an operator"),
        ("a = 1", "cannot read"),
        ("x in [a]", "expected a literal"),
        ("__import__('os').system('x')", "cannot read"),
        ("outputs.a.b", "did you mean outputs.a"),
        ("thing.x", "did you mean params.thing"),
    ],
)
def test_bad_text_is_a_clean_error(expr: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(expr)


def test_the_simple_when_form_keeps_its_meaning() -> None:
    names_known = {"environment", "dry"}
    assert compile_when("environment == production", names_known) == Compare(
        "==", Name("", "environment"), Literal("production")
    )
    assert compile_when("not environment != 'prod-eu'", names_known) == Not(
        Compare("!=", Name("", "environment"), Literal("prod-eu"))
    )
    # text the grammar cannot read still works in the simple form, as it always did
    assert compile_when("environment == prod-eu", names_known) == Compare(
        "==", Name("", "environment"), Literal("prod-eu")
    )
    # a bare word that is a known name stays a name
    assert compile_when("environment == dry", names_known) == Compare(
        "==", Name("", "environment"), Name("", "dry")
    )


# comparing


@pytest.mark.parametrize(
    ("expr", "params", "expected"),
    [
        ("rate > 5", {"rate": "7.5"}, True),  # an output is text: read as a number
        ("rate > 5", {"rate": 3}, False),
        ("v >= '1.10.0'", {"v": "1.9.2"}, False),  # versions, not text
        ("v >= '1.10.0'", {"v": "1.10"}, True),  # missing parts count as 0
        ("v < 'v2.0'", {"v": "v1.99.1"}, True),
        ("tier == 'gold'", {"tier": Tier.GOLD}, True),
        ("flag == true", {"flag": True}, True),
        ("flag == 'true'", {"flag": True}, True),
        ("env in ['staging', 'dev']", {"env": "dev"}, True),
        ("env not in ['staging', 'dev']", {"env": "prod"}, True),
        ("n in [1, 2]", {"n": "2"}, True),
        ("'eu' in region", {"region": "eu-west"}, True),
        ("host in hosts", {"host": "web2", "hosts": ["web1", "web2"]}, True),
        ("(a or b) and not c", {"a": False, "b": True, "c": False}, True),
        ("token == 's3'", {"token": SecretStr("s3")}, True),
        ("x", {"x": ""}, False),
        ("not x", {"x": None}, True),
    ],
)
def test_comparison_rules(expr: str, params: dict[str, Any], expected: bool) -> None:
    assert check(expr, **params) is expected


def test_ordering_text_is_an_error_that_masks_secrets() -> None:
    with pytest.raises(ExpressionError, match="ordering needs numbers or dotted versions"):
        check("name > 5", name="web")
    with pytest.raises(ExpressionError) as caught:
        check("token > 5", token=SecretStr("hunter2"))
    assert "hunter2" not in str(caught.value)


def test_an_output_not_published_is_named() -> None:
    with pytest.raises(ExpressionError, match="output 'rate' is not available"):
        holds(parse("outputs.rate > 5"), Scope())


def test_short_circuit_skips_what_is_not_needed() -> None:
    assert holds(parse("false and outputs.rate > 5"), Scope()) is False
    assert holds(parse("true or outputs.rate > 5"), Scope()) is True


def test_partial_evaluation_knows_what_params_decide() -> None:
    partial = Scope(params={"env": "prod"}, partial=True)
    assert known(parse("env == 'prod'"), partial) is True
    assert known(parse("env == 'prod' and answers.go"), partial) is None
    assert known(parse("env == 'dev' and answers.go"), partial) is False
    assert known(parse("env == 'prod' or outputs.x > 1"), partial) is True
    assert known(parse("version > '1.0.0'"), Scope(partial=True)) is None


def test_described_names_each_value_once_and_masks_secrets() -> None:
    node = parse("a > 1 and a < 9 or token == 'x' or outputs.gone")
    text = described(node, Scope(params={"a": 3, "token": SecretStr("pw")}))
    assert text == "a=3, token=**********, outputs.gone=(not available)"


# properties

_ident = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s not in {"and", "or", "not", "in", "true", "false"}
)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
_literal = st.one_of(
    st.integers(-(10**6), 10**6).map(Literal),
    st.floats(-1e6, 1e6, allow_nan=False).filter(lambda f: "e" not in repr(f)).map(Literal),
    _text.map(Literal),
    st.booleans().map(Literal),
)
_name = st.one_of(
    _ident.map(lambda key: Name("", key)),
    st.tuples(st.sampled_from(["params", "answers", "outputs"]), _ident).map(
        lambda pair: Name(*pair)
    ),
)
_atom = st.one_of(_literal, _name)
_ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])


def _grow(inner: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    compare = st.builds(Compare, _ops, _atom, _atom)
    member = st.builds(
        Compare,
        st.sampled_from(["in", "not in"]),
        _atom,
        st.lists(_literal, max_size=3).map(lambda items: ListOf(tuple(items))),
    )
    logic = st.builds(
        Logic,
        st.sampled_from(["and", "or"]),
        st.lists(inner, min_size=2, max_size=3).map(tuple),
    )
    return st.one_of(compare, member, logic, inner.map(Not))


_expression = st.recursive(
    st.one_of(_name, st.builds(Compare, _ops, _atom, _atom)), _grow, max_leaves=12
)


@settings(max_examples=300, deadline=None)
@given(_expression)
def test_rendered_expressions_parse_back_to_themselves(node: Node) -> None:
    assert parse(render(node)) == node


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        node = parse(text)
    except ExpressionError:
        return
    assert parse(render(node)) == node


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab01 ()[],'\"=!<>.notandorinx", max_size=30),
    st.dictionaries(st.sampled_from(["a", "b", "x"]), st.one_of(st.integers(), _text)),
)
def test_evaluation_fails_only_cleanly(text: str, params: dict[str, Any]) -> None:
    with contextlib.suppress(ExpressionError):  # anything else fails the test
        holds(parse(text), Scope(params=params, outputs={"a": "1"}))
