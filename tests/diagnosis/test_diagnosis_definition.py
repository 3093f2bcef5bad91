"""Definition checks of ``Diagnosis`` leaves, a secret in a finding, and the spec a leaf
binds to: each mistake fails when the class is defined, naming the step and the fix."""

from __future__ import annotations

from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define.diagnosis import DiagnosisSpec, ended_at, skip_reason
from opsbooks.errors import DefinitionError
from opsbooks.plan.binding import plan
from opsbooks.testing import Drill

DOCS: dict[str, Any] = {"scope": "tests", "owner": "sre", "last_reviewed": "2026-12-02"}


def define(name: str, **steps: Any) -> type[ob.Runbook]:
    namespace: dict[str, Any] = {"__doc__": "Purpose.", "name": f"bad.{name}", **DOCS, **steps}
    return type(name, (ob.Runbook,), namespace)


def error_of(**steps: Any) -> str:
    with pytest.raises(DefinitionError) as caught:
        define("tree", **steps)
    return str(caught.value)


def test_a_diagnosis_needs_a_finding() -> None:
    message = error_of(leaf=ob.Diagnosis("   "))
    assert "bad.tree" in message and "'leaf'" in message
    assert "needs a finding" in message


def test_a_diagnosis_cannot_have_an_undo() -> None:
    message = error_of(leaf=ob.Diagnosis("Disk full", undo=ob.Command("true", id="revert")))
    assert "cannot have an undo" in message and "resolution=" in message


@pytest.mark.parametrize("level", ["L9", "oncall", "l2"])
def test_escalate_must_name_a_contact_level(level: str) -> None:
    message = error_of(leaf=ob.Diagnosis("Unknown fault", escalate=level))
    assert f"escalate={level!r} is not a contact level" in message
    assert "L1, L2, L3" in message and "[tool.opsbooks.contacts]" in message


def test_a_diagnosis_command_must_be_a_non_empty_string() -> None:
    message = error_of(leaf=ob.Diagnosis("Disk full", commands=["df -h", ""]))
    assert "each command is a non-empty string" in message


def test_a_diagnosis_cannot_be_an_undo() -> None:
    message = error_of(
        change=ob.Command("touch x", undo=ob.Diagnosis("Cannot revert", id="explain"))
    )
    assert "the undo 'explain' is a Diagnosis" in message


def test_a_finding_naming_an_unknown_param_is_caught() -> None:
    with pytest.raises(DefinitionError) as caught:
        define("tree", leaf=ob.Diagnosis("Name resolution fails for {hots}"))
    assert "hots" in str(caught.value)


def test_a_branch_may_route_to_a_diagnosis_and_it_binds_its_templates() -> None:
    class Params(ob.Params):
        host: str = "db1"

    book = define(
        "ok",
        Params=Params,
        decide=ob.Branch(on="host", routes={"db1": "leaf"}),
        leaf=ob.Diagnosis(
            "{host} is down",
            resolution="Restart {host}",
            commands=["systemctl status postgresql --host {host}", "ping -c1 {host}"],
            escalate="L3",
            title="Host down",
        ),
    )
    planned = plan(book, book.Params(host="db 2")).get("leaf")
    assert planned.kind == "diagnosis" and planned.text == "db 2 is down"
    spec = planned.spec
    assert isinstance(spec, DiagnosisSpec)
    assert spec.resolution == "Restart db 2" and spec.escalate == "L3"
    assert spec.commands[1] == "ping -c1 'db 2'"  # shell-quoted, ready to paste


def test_the_end_route_is_not_a_step_route() -> None:
    assert ended_at("(end:dns_failed)") == "dns_failed"
    assert ended_at("dns_failed") is None and ended_at(None) is None
    assert skip_reason("(end:x)") == "the run ended at diagnosis x"
    assert skip_reason("watch") == "branch routed to watch"


class Leaky(ob.Runbook):
    """A leaf whose finding names a secret param."""

    name = "diag.leaky"
    scope = "tests"
    owner = "sre"
    last_reviewed = "2026-12-02"

    class Params(ob.Params):
        token: ob.SecretStr = ob.Field(ob.SecretStr("tok-98765-secret"), description="a token")

    leaf = ob.Diagnosis(
        "The API rejects the token {token}",
        resolution="Rotate {token} in the vault",
        commands=["curl -H 'Authorization: Bearer {token}' https://127.0.0.1/health"],
    )


def test_a_secret_in_a_finding_never_reaches_output_facts_or_journal(drill: Drill) -> None:
    drill.runbooks = (Leaky,)
    result = drill.run(Leaky)
    result.assert_succeeded()
    finding = result.fact("diagnosis.finding")
    assert finding is not None and "tok-98765" not in str(finding.value)
    assert "tok-98765" not in result.output
    assert all("tok-98765" not in str(t.detail) + t.output_tail for t in result.transitions)
    assert "tok-98765" not in result.audit_path.read_text()
