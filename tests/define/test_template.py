"""Templates: binding, shell quoting, the shown and the real text, placeholders, argv."""

from __future__ import annotations

import enum
import shlex
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from opsbooks.define.params import REDACTED
from opsbooks.define.template import (
    Bound,
    TemplateError,
    bind,
    fields,
    join_argv,
    quoted_fields,
    roots,
)


class Tier(enum.Enum):
    GOLD = "gold"


@dataclass(frozen=True)
class Host:
    name: str
    port: int


# reading templates


def test_fields_come_in_order_and_keep_their_dots() -> None:
    assert fields("scp {src} {host.name}:{dest} {src}") == ["src", "host.name", "dest", "src"]
    assert fields("no fields, {{escaped}} braces") == []


def test_roots_are_the_first_component_of_each_field() -> None:
    assert roots("{host.name} {host.vars.dc} {version}") == {"host", "version"}


@pytest.mark.parametrize(
    "template",
    [
        "find . -name '*.log' -exec rm {} +",
        "echo {0}",
        "{ a; b; }",
        "awk '{print $1}'",
        "tmux display -p '#{pane_index}'",
        "echo ${HOME} ${version}",
        "echo {items[0]}",
        "echo {version",
        "echo version}",
    ],
)
def test_shell_braces_that_are_no_placeholder_are_text(template: str) -> None:
    assert fields(template) == []
    assert bind(template, {"version": "1.2", "items": [1]}, shell=True).text == template


def test_fields_inside_shell_quotes_are_found() -> None:
    template = """echo '{a}' "x {b}" {c} 'it''s' {d}"""
    assert quoted_fields(template) == ["a", "b"]


# binding


def test_in_a_shell_command_each_value_is_one_quoted_word() -> None:
    bound = bind(
        "git tag -a v{version} -m {message}", {"version": "1.2", "message": "a b; rm"}, shell=True
    )
    assert bound.text == "git tag -a v1.2 -m 'a b; rm'"
    assert shlex.split(bound.text)[-1] == "a b; rm"


def test_outside_a_shell_values_are_plain_text() -> None:
    bound = bind(
        "Release {version}: {message}", {"version": "1.2", "message": "a 'b'"}, shell=False
    )
    assert bound == Bound("Release 1.2: a 'b'", "Release 1.2: a 'b'")


@pytest.mark.parametrize(
    ("value", "plain", "quoted"),
    [
        (True, "true", "true"),
        (False, "false", "false"),
        (None, "", "''"),
        (Tier.GOLD, "gold", "gold"),
        (3, "3", "3"),
        ("", "", "''"),
    ],
)
def test_values_are_written_the_way_a_command_expects(
    value: object, plain: str, quoted: str
) -> None:
    assert bind("{v}", {"v": value}, shell=False).text == plain
    assert bind("{v}", {"v": value}, shell=True).text == quoted


def test_a_list_is_one_word_per_item_in_a_shell_and_spaced_in_text() -> None:
    values = {"files": ["a b", "c"]}
    assert bind("rm -- {files}", values, shell=True).text == "rm -- 'a b' c"
    assert bind("removing {files}", values, shell=False).text == "removing a b c"


def test_dotted_fields_read_mappings_and_attributes() -> None:
    values = {"host": Host("web1", 2222), "vars": {"dc": "ams"}}
    bound = bind("ssh -p {host.port} {host.name} # {vars.dc}", values, shell=True)
    assert bound.text == "ssh -p 2222 web1 # ams"


def test_a_format_spec_applies_to_the_value_before_quoting() -> None:
    assert bind("[{n:>4}]", {"n": 7}, shell=False).text == "[   7]"
    assert bind("echo {n:>4}", {"n": 7}, shell=True).text == "echo '   7'"


# placeholders that are not bound


def test_unbound_fields_stay_as_written_with_their_conversion_and_spec() -> None:
    bound = bind("deploy {version} to {target!r:>10} as {who}", {"who": "ops"}, shell=True)
    assert bound.text == bound.shown == "deploy {version} to {target!r:>10} as ops"


def test_binding_nothing_keeps_the_template_for_the_docs() -> None:
    template = "git push origin v{version}"
    assert bind(template, {}, shell=True) == Bound(template, template)


# secrets: the real text runs, the shown text is printed


def test_a_secret_is_real_in_the_text_and_redacted_in_what_is_shown() -> None:
    values = {"token": SecretStr("s3cr3t value"), "user": "ops"}
    bound = bind("login --user {user} --token {token}", values, shell=True)
    assert bound.text == "login --user ops --token 's3cr3t value'"
    assert bound.shown == f"login --user ops --token {shlex.quote(REDACTED)}"
    assert "s3cr3t" not in bound.shown


def test_a_secret_inside_a_list_is_redacted_item_by_item() -> None:
    values = {"args": ["--verbose", SecretStr("pw")]}
    bound = bind("tool {args}", values, shell=False)
    assert (bound.text, bound.shown) == ("tool --verbose pw", f"tool --verbose {REDACTED}")


def test_a_nul_byte_cannot_reach_a_shell() -> None:
    with pytest.raises(TemplateError, match="NUL byte"):
        bind("echo {v}", {"v": "a\x00b"}, shell=True)


# argv commands


def test_argv_elements_are_bound_as_text_then_joined_as_one_word_each() -> None:
    bound = join_argv(["git", "commit", "-m", "release {version}"], {"version": "1.2 rc"})
    assert bound.text == "git commit -m 'release 1.2 rc'"
    assert shlex.split(bound.text) == ["git", "commit", "-m", "release 1.2 rc"]


def test_argv_shows_secrets_redacted_and_runs_them_real() -> None:
    bound = join_argv(["curl", "-H", "Authorization: {token}"], {"token": SecretStr("abc")})
    assert shlex.split(bound.text) == ["curl", "-H", "Authorization: abc"]
    assert shlex.split(bound.shown) == ["curl", "-H", f"Authorization: {REDACTED}"]


def test_argv_keeps_unbound_placeholders_inside_their_word() -> None:
    bound = join_argv(["echo", "{later}", "now"], {})
    assert shlex.split(bound.text) == ["echo", "{later}", "now"]


def test_argv_refuses_a_nul_byte() -> None:
    with pytest.raises(TemplateError, match="NUL byte"):
        join_argv(["echo", "{v}"], {"v": "a\x00b"})
