"""The one template scanner: what is a placeholder and what is shell text, escapes, the
run-time names (answers, run id, runbook), host vars, and near misses at definition."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import opsbooks as ob
from opsbooks.backends.hosts.inventory import Host, bound_for_host
from opsbooks.define.template import bind, fields, late_names, near_misses, scan
from opsbooks.errors import DefinitionError, UnknownHostVar
from opsbooks.plan.binding import plan, with_outputs
from opsbooks.run.state import RunState


def test_placeholders_are_dotted_identifiers() -> None:
    assert fields("{a} {b.c} {host.vars.dc} {answers.drain.go} {1x} {a-b} {a.} {a .b}") == [
        "a",
        "b.c",
        "host.vars.dc",
        "answers.drain.go",
    ]


def test_the_answer_of_a_gate_in_a_section_binds_by_its_dotted_id() -> None:
    values = {"answers": {"drain.go": "yes"}, "host": {"vars": {"dc": "ams"}}}
    assert bind("{answers.drain.go} {host.vars.dc}", values, shell=False).text == "yes ams"


def test_escapes_write_one_brace_and_hide_a_placeholder() -> None:
    assert bind("{{a}} {a} }} {{", {"a": "x"}, shell=False).text == "{a} x } {"
    assert bind("echo ${{HOME}}", {}, shell=True).text == "echo ${HOME}"


def test_late_names_are_answers_and_the_run_id() -> None:
    found = late_names(["{answers.go} {run_id} {runbook} {answers.go.x}", None, "{outputs.a}"])
    assert found == ["answers.go", "run_id", "answers.go.x"]


# properties: shell text without a placeholder binds to itself

_shellish = st.text(alphabet="{}$#;| abcxyz_.'\"%-0", max_size=40)


@settings(max_examples=500, deadline=None)
@given(_shellish)
def test_text_without_placeholders_binds_to_itself(text: str) -> None:
    pieces = list(scan(text))
    if any(found is not None for _, found in pieces):
        return  # it holds a placeholder: covered by the next property
    escaped = "{{" in text or "}}" in text
    bound = bind(text, {"a": "VALUE"}, shell=True)
    if not escaped:
        assert bound.text == bound.shown == text
    assert "VALUE" not in bound.text


@settings(max_examples=300, deadline=None)
@given(_shellish)
def test_unbound_text_round_trips_through_the_scanner(text: str) -> None:
    # binding nothing keeps every placeholder as written and undoes only the escapes
    undone = "".join(literal + (f.raw if f else "") for literal, f in scan(text))
    assert bind(text, {}, shell=True).text == undone


@pytest.mark.parametrize(
    "shell",
    [
        "{ systemctl stop nginx; systemctl status nginx; }",
        "awk '{print $1}' /etc/hosts",
        "tmux list-panes -F '#{pane_index} #{pane_pid}'",
        'echo "${HOME:-/root}" ${PATH}',
        "find /tmp -name '*.tmp' -exec rm {} +",
        "jq '.items[] | {name: .metadata.name}'",
    ],
)
def test_real_shell_snippets_are_text(shell: str) -> None:
    assert fields(shell) == []
    assert bind(shell, {"name": "x", "print": "y"}, shell=True).text == shell


# host vars


def test_host_vars_bind_as_host_key_and_host_vars_key() -> None:
    host = Host(name="web1", address="10.0.0.1", roles=("web",), vars={"dc": "ams"})
    bound = bound_for_host("echo {host.name} {host.dc} {host.vars.dc}", host, {})
    assert bound.text == "echo web1 ams ams"
    with pytest.raises(UnknownHostVar, match=r"vars\.zone"):
        bound_for_host("echo {host.vars.zone}", host, {})


# binding at run time


class Late(ob.Runbook):
    """Answers and the run id bound when a step runs."""

    name = "unit.late_names"
    scope = "template tests"
    owner = "sre"
    last_reviewed = dt.date(2026, 12, 1)

    class Params(ob.Params):
        version: str = "1.0"

    ticket = ob.Gate.ask("Change ticket for {runbook} {version}?")
    token = ob.Gate.ask("Paste the deploy token", secret=True)
    record = ob.Command(
        "record --ticket {answers.ticket} --run {run_id} --book {runbook}",
        env={"TOKEN": "{answers.token}"},
    )
    tell = ob.Notify("{runbook} {version}: ticket {answers.ticket}, run {run_id}")


def test_a_plan_keeps_late_placeholders_and_binds_the_runbook_name() -> None:
    bound = plan(Late, Late.Params())
    record = bound.get("record")
    assert record.shown == "record --ticket {answers.ticket} --run {run_id} --book unit.late_names"
    assert bound.get("ticket").text == "Change ticket for unit.late_names 1.0?"
    assert record.uses_late == ("answers.ticket", "run_id", "answers.token")


def test_answers_and_run_id_bind_when_the_step_runs_and_secrets_stay_masked() -> None:
    bound = plan(Late, Late.Params())
    run = RunState("r-42", answers={"ticket": "CHG-7", "token": ob.SecretStr("s3cr3t")})
    record = with_outputs(bound.get("record"), bound.params, {}, run=run)
    assert record.command == "record --ticket CHG-7 --run r-42 --book unit.late_names"
    assert record.spec.env == {"TOKEN": "s3cr3t"}
    tell = with_outputs(bound.get("tell"), bound.params, {}, run=run)
    assert tell.text == "unit.late_names 1.0: ticket CHG-7, run r-42"


def test_a_missing_answer_is_named() -> None:
    bound = plan(Late, Late.Params())
    with pytest.raises(ValueError, match="answer of gate 'ticket' is not available"):
        with_outputs(bound.get("record"), bound.params, {}, run=RunState("r", answers={}))


# definition errors


def define(**steps: Any) -> type[ob.Runbook]:
    class Params(ob.Params):
        version: str = "1"

    namespace: dict[str, Any] = {
        "__doc__": "A test runbook.",
        "name": "unit.scan_errors",
        "scope": "tests",
        "owner": "sre",
        "last_reviewed": dt.date(2026, 12, 1),
        "Params": Params,
        **steps,
    }
    return type("ScanErrors", (ob.Runbook,), namespace)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("echo { version }", "has spaces inside the braces; write {version}"),
        ("echo {outputs.}", "names nothing after the dot; write {outputs.NAME}"),
        ("echo {version", "is not closed; write {version}"),
        ("echo {Version}", "Did you mean {version}?"),
        ("echo {answer.go}", "Did you mean {answers.go}?"),
        ("echo {answers.nope}", "which is no gate"),
        ("echo {answers.later}", "a gate that comes later"),
        ("echo {answers}", "name one gate's answer"),
        ("echo {run_id.x}", "{run_id} has no parts"),
        ("echo {host.name}", "exists only in steps that run on hosts"),
    ],
)
def test_near_misses_and_wrong_names_say_the_fix(template: str, message: str) -> None:
    with pytest.raises(DefinitionError) as caught:
        define(
            go=ob.Gate.confirm("Go?"),
            run_it=ob.Command(template),
            later=ob.Gate.confirm("Later?"),
        )
    assert caught.value.step == "run_it" and message in str(caught.value), str(caught.value)


def test_shell_braces_near_a_known_name_only_count_when_they_look_meant() -> None:
    define(s=ob.Command("{ echo {version}; echo done; } && awk '{print $1}' f"))
    assert near_misses("{ a; b; }") == []


def test_a_secret_answer_is_refused_on_a_command_line_and_allowed_in_env() -> None:
    with pytest.raises(DefinitionError, match=r"secret \{answers.token\} would be on the command"):
        define(
            token=ob.Gate.ask("Token?", secret=True), use=ob.Command(["login", "{answers.token}"])
        )
    define(
        token=ob.Gate.ask("Token?", secret=True),
        use=ob.Command("login", env={"TOKEN": "{answers.token}"}),
    )


def test_a_title_is_a_template_too() -> None:
    class Titled(ob.Runbook):
        """Titles bound like any template."""

        name = "unit.titled"
        scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

        class Params(ob.Params):
            version: str = "1.0"

        ticket = ob.Gate.ask("Ticket?")
        ship = ob.Command("true", title="Ship {version} under {answers.ticket}")

    assert ob.plan(Titled).get("ship").title == "Ship {version} under {answers.ticket}"
    bound = ob.plan(Titled, Titled.Params())
    run = RunState("r-1", answers={"ticket": "CHG-1"})
    assert (
        with_outputs(bound.get("ship"), bound.params, {}, run=run).title == "Ship 1.0 under CHG-1"
    )
    with pytest.raises(DefinitionError, match=r"uses \{outputs\.nope\}, which no earlier step"):
        define(s=ob.Command("true", title="After {outputs.nope}"))


def test_a_secret_answer_is_masked_wherever_it_is_shown() -> None:
    values = {"answers": {"token": ob.SecretStr("s3cr3t")}}
    bound = bind("Token {answers.token} pasted", values, shell=False)
    assert bound.text == "Token s3cr3t pasted" and "s3cr3t" not in bound.shown
