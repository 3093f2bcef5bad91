"""Fast: the rules of signed approvals (quorum, four-eyes, duplicates, not waiting), the
settings table, the definition checks and the page sentence. No subprocess."""

from __future__ import annotations

from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define.approvals import (
    Counted,
    Payload,
    WaitingGate,
    decided,
    judge,
    load_approval_settings,
    question_hash,
    same_person,
)
from opsbooks.define.contacts import Contacts
from opsbooks.errors import ConfigError, DefinitionError
from opsbooks.plan.binding import plan
from opsbooks.render.markdown import render_runbook

MEMBERS = ("alice@example.com", "bob@example.com", "carol@example.com")


def waiting(**over: Any) -> WaitingGate:
    base: dict[str, Any] = {
        "run_id": "r1",
        "runbook": "release.ship",
        "gate": "go",
        "question": question_hash("Ship it?"),
        "role": "release-managers",
        "quorum": 2,
        "four_eyes": True,
        "starter": "carol",
        "token": "t0",
    }
    return WaitingGate(**(base | over))


def payload(decision: str = "approve", **over: Any) -> Payload:
    base: dict[str, Any] = {
        "run_id": "r1",
        "runbook": "release.ship",
        "gate": "go",
        "question": question_hash("Ship it?"),
        "request": "t0",
        "decision": decision,
        "reason": "",
        "at": 1.5,
        "nonce": "n1",
    }
    return Payload(**(base | over))


def test_a_member_who_did_not_start_the_run_is_counted() -> None:
    verdict = judge("alice@example.com", payload(), waiting(), MEMBERS, [])
    assert verdict.accepted, verdict.why


def test_the_starter_is_refused_under_four_eyes_even_with_a_domain() -> None:
    verdict = judge("carol@example.com", payload(), waiting(), MEMBERS, [])
    assert not verdict.accepted
    assert "four-eyes" in verdict.why and "started the run" in verdict.why
    assert judge("carol@example.com", payload(), waiting(four_eyes=False), MEMBERS, []).accepted


def test_someone_outside_the_role_is_refused() -> None:
    verdict = judge("mallory@example.com", payload(), waiting(), MEMBERS, [])
    assert (verdict.accepted, verdict.why) == (
        False,
        "mallory@example.com is not in role release-managers",
    )


def test_a_second_approval_by_the_same_principal_does_not_count_twice() -> None:
    counted = [Counted("alice@example.com", "approve", nonce="n0")]
    verdict = judge("alice@example.com", payload(nonce="n2"), waiting(), MEMBERS, counted)
    assert not verdict.accepted and "counts once" in verdict.why
    assert decided(waiting(), counted) is None  # one approver of two: still waiting


def test_a_replayed_signed_decision_is_refused() -> None:
    counted = [Counted("alice@example.com", "approve", nonce="n1")]
    verdict = judge("bob@example.com", payload(nonce="n1"), waiting(), MEMBERS, counted)
    assert not verdict.accepted and "replay" in verdict.why


def test_nothing_waiting_or_already_decided_is_refused() -> None:
    assert "is not waiting" in judge("alice@example.com", payload(), None, MEMBERS, []).why
    both = [Counted("alice@example.com", "approve"), Counted("bob@example.com", "approve")]
    late = judge("carol@example.com", payload(), waiting(four_eyes=False), MEMBERS, both)
    assert not late.accepted and "already decided" in late.why


@pytest.mark.parametrize(
    "field, value",
    [("request", "an-earlier-wait"), ("gate", "other"), ("question", question_hash("Drop?"))],
)
def test_a_payload_for_another_wait_gate_or_question_is_refused(field: str, value: str) -> None:
    verdict = judge("alice@example.com", payload(**{field: value}), waiting(), MEMBERS, [])
    assert not verdict.accepted and "another run, gate, question or wait" in verdict.why


def test_quorum_counts_distinct_approvers_and_one_deny_decides() -> None:
    wait = waiting()
    alice, bob = Counted("alice@example.com", "approve"), Counted("bob@example.com", "approve")
    assert decided(wait, [alice]) is None
    assert decided(wait, [alice, bob]) == "approved"
    assert decided(wait, [alice, Counted("bob@example.com", "deny", "no")]) == "denied"
    assert decided(waiting(quorum=1), [alice]) == "approved"


def test_same_person_compares_the_name_before_the_at() -> None:
    assert same_person("carol@example.com", "carol")
    assert same_person("Carol@example.com", "carol@corp.example")
    assert not same_person("carola@example.com", "carol")
    assert not same_person("", "")


def test_a_payload_round_trips_only_in_canonical_form() -> None:
    text = payload(reason="looks good").text()
    assert Payload.parse(text) == payload(reason="looks good")
    with pytest.raises(ValueError, match="canonical"):
        Payload.parse(text.replace('"at":1.5', '"at": 1.5'))
    with pytest.raises(ValueError, match="exactly the keys"):
        Payload.parse('{"run_id": "r1"}')
    with pytest.raises(ValueError, match="not JSON"):
        Payload.parse("approve!")


def test_the_settings_table_defaults_and_a_malformed_one_is_a_config_error() -> None:
    settings = load_approval_settings({"roles": {"rm": ["alice@example.com"]}, "poll": "250ms"})
    assert settings.poll_seconds == 0.25 and settings.namespace == "opsbooks"
    assert settings.members("rm") == ("alice@example.com",) and settings.members("x") == ()
    for table, named in [
        ({"roles": {"rm": "alice"}}, "roles.rm"),
        ({"poll": "soon"}, "poll"),
        ({"namespace": "-n evil"}, "namespace"),
        ({"allowed_signer": "typo"}, "allowed_signer"),
    ]:
        with pytest.raises(ConfigError, match=r"\[tool\.opsbooks\.approvals\] is invalid") as e:
            load_approval_settings(table)
        assert named in str(e.value) and "Traceback" not in str(e.value)


def _runbook(**gate: Any) -> type[ob.Runbook]:
    class Ship(ob.Runbook):
        """Ship a build."""

        name = "tests.ship"
        scope, owner, last_reviewed = "tests", "sre", "2026-12-02"
        go = ob.Gate.confirm("Ship it?", **gate)
        ship = ob.Command("echo shipped")

    return Ship


@pytest.mark.parametrize(
    "gate, message",
    [
        ({"approvers": "rm", "quorum": 0}, "at least 1"),
        ({"quorum": 2}, "are for gates with approvers="),
        ({"approvers": "rm", "secret": True}, "secret gate cannot take signed approvals"),
        ({"approvers": "rm", "phrase": "prod"}, "plain confirmations"),
        ({"approvers": "rm", "answer_type": str}, "plain confirmations"),
        ({"approvers": "rm", "on_timeout": "default", "default": True}, "without its approvals"),
        ({"approvers": "release managers"}, "not a role name"),
    ],
)
def test_definition_checks_refuse_approval_options_that_mean_nothing(
    gate: dict[str, Any], message: str
) -> None:
    with pytest.raises(DefinitionError, match=message):
        _runbook(**gate)


def test_the_page_says_what_approvals_the_gate_needs_and_how_to_give_them() -> None:
    page = render_runbook(_runbook(approvers="release-managers", quorum=2), Contacts())
    assert (
        "Needs 2 signed approvals from role release-managers, not from the person who "
        "started the run; give them with `opsbooks approve RUN go`"
    ) in page
    spec = plan(_runbook(approvers="rm", four_eyes=False)).find("go").spec  # type: ignore[union-attr]
    assert (spec.approvers, spec.quorum, spec.four_eyes) == ("rm", 1, False)


def test_approvers_change_the_fingerprint_and_plain_gates_keep_theirs() -> None:
    plain = plan(_runbook()).fingerprint
    assert plan(_runbook(approvers="rm")).fingerprint != plain
    assert (
        plan(_runbook(approvers="rm", quorum=2)).fingerprint
        != plan(_runbook(approvers="rm")).fingerprint
    )
