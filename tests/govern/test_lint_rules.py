"""Every lint rule on a purpose-built bad runbook, a clean one, the config checks, and the
house catalog passing. Pure: subjects and facts are plain values, no journal, no git.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.define.contacts import Contacts
from opsbooks.edges.discovery import discover
from opsbooks.errors import ConfigError
from opsbooks.govern.lint_rules import CATALOG, RULE_IDS, Exercise, Facts, has_errors, lint
from opsbooks.govern.settings import LintSettings, load
from opsbooks.govern.subjects import Subject, subject_of

TODAY = dt.date(2026, 12, 1)
CONTACTS = Contacts(L1="#ops", L2="#platform", L3="lead")
VERIFIED = LintSettings(contacts_verified=TODAY)


class Good(ob.Runbook, abstract=True):
    """Restart the shop cleanly."""

    scope = "The shop app on the app hosts."
    owner = "sre"
    last_reviewed = "2026-11-20"
    prerequisites = ["You can ssh to the app hosts."]
    verification = ["The home page answers 200."]
    troubleshooting = [ob.Trouble("It hangs", "A stuck worker", "Kill the worker.")]
    recovery = "Start the old release again."

    class Params(ob.Params):
        app: ob.NoOption = "shop"
        flag: str = "x"

    approve = ob.Gate.confirm("Restart {app}?", description="Check no deploy is running.")
    stop = ob.Command("echo stop {app}", undo=ob.Command("echo start {app}"))
    purge = ob.Command("echo purge", irreversible="the cache is rebuilt on demand")
    check = ob.Verify("true")


def _book(name: str, **attrs: Any) -> type[ob.Runbook]:
    return type("Book", (Good,), {"name": name, "__doc__": Good.__doc__, **attrs})


def _facts(*names: str, exercised: dict[str, Exercise] | None = None) -> Facts:
    fresh = {n: Exercise(TODAY, TODAY) for n in names}
    return Facts(TODAY, frozenset(names), CONTACTS, exercised if exercised is not None else fresh)


def _rules(subject: Subject, facts: Facts, settings: LintSettings = VERIFIED) -> list[str]:
    return [f.rule for f in lint([subject], facts, settings)]


def test_a_good_runbook_has_no_findings() -> None:
    book = _book("good.book", related=["good.other"])
    assert lint([subject_of(book)], _facts("good.book", "good.other"), VERIFIED) == []


@pytest.mark.parametrize(
    ("attrs", "section"),
    [
        ({"prerequisites": []}, "prerequisites"),
        ({"verification": []}, "verification"),
        ({"troubleshooting": []}, "troubleshooting"),
        ({"recovery": ""}, "recovery"),
    ],
)
def test_an_empty_section_is_an_error(attrs: dict[str, Any], section: str) -> None:
    findings = lint([subject_of(_book("bad.sections", **attrs))], _facts("bad.sections"), VERIFIED)
    assert [(f.rule, f.severity) for f in findings] == [("section-missing", "error")]
    assert f"the {section} section is missing" in findings[0].line()
    assert findings[0].line().startswith("section-missing error bad.sections: ")


def test_missing_purpose_owner_and_contacts_are_errors() -> None:
    # the class itself refuses an empty scope/owner, so the plan's info is edited instead
    subject = subject_of(_book("bad.owner"))
    info = dataclasses.replace(subject.info, owner="", purpose="")
    facts = dataclasses.replace(_facts("bad.owner"), contacts=Contacts())
    messages = [f.message for f in lint([dataclasses.replace(subject, info=info)], facts, VERIFIED)]
    assert messages == [
        "the purpose section is missing or empty",
        "the contacts section is missing or empty",
        "the owner section is missing or empty",
    ]


def test_an_overdue_review_is_an_error() -> None:
    book = _book("bad.review", last_reviewed="2026-06-01", review_every_days=30)
    findings = lint([subject_of(book)], _facts("bad.review"), VERIFIED)
    assert [f.rule for f in findings] == ["review-overdue"]
    assert "overdue since 2026-07-01" in findings[0].message
    assert "opsbooks review bad.review" in findings[0].fix


def test_not_run_within_the_window_and_not_drilled() -> None:
    stale = {"bad.stale": Exercise(last_success=TODAY - dt.timedelta(days=91))}
    assert _rules(subject_of(_book("bad.stale")), _facts("bad.stale", exercised=stale)) == [
        "not-exercised"
    ]
    assert _rules(subject_of(_book("bad.stale")), _facts("bad.stale")) == []
    drilled = _book("bad.drill", rto="15m")
    ran_only = {"bad.drill": Exercise(last_success=TODAY, last_drill=None)}
    findings = lint([subject_of(drilled)], _facts("bad.drill", exercised=ran_only), VERIFIED)
    assert [(f.rule, f.severity) for f in findings] == [("not-exercised", "warning")]
    assert "not drilled within 90 days" in findings[0].message


def test_contacts_not_verified_lately_is_one_catalog_finding() -> None:
    subjects = [subject_of(_book("ok.one")), subject_of(_book("ok.two"))]
    old = LintSettings(contacts_verified=dt.date(2026, 1, 5))
    findings = lint(subjects, _facts("ok.one", "ok.two"), old)
    assert [(f.rule, f.runbook) for f in findings] == [("contacts-unverified", CATALOG)]
    assert "last: 2026-01-05" in findings[0].message
    never = lint(subjects, _facts("ok.one", "ok.two"), LintSettings())
    assert "never recorded" in never[0].message


def test_a_module_that_fails_to_import_is_an_error_naming_it_and_the_first_line() -> None:
    broken = {
        "books.db.purge": "ModuleNotFoundError: No module named 'psycopg3'\n  more detail",
        "books.db.vacuum": "SyntaxError: invalid syntax (vacuum.py, line 3)",
    }
    facts = dataclasses.replace(_facts("ok.one"), broken=broken)
    findings = lint([subject_of(_book("ok.one"))], facts, VERIFIED)
    assert [(f.rule, f.severity, f.runbook) for f in findings] == [
        ("catalog-import", "error", "books.db.purge"),
        ("catalog-import", "error", "books.db.vacuum"),
    ]
    assert has_errors(findings)
    assert findings[0].message.endswith("No module named 'psycopg3'")
    assert "more detail" not in findings[0].line()
    assert 'python -c "import books.db.purge"' in findings[0].fix
    assert findings[1].to_dict()["message"].endswith("(vacuum.py, line 3)")
    quiet = LintSettings(
        contacts_verified=TODAY,
        disable=["catalog-import:books.db.purge"],
        severity={"catalog-import": "warning"},
    ).checked(RULE_IDS)
    softer = lint([], facts, quiet)
    assert [(f.runbook, f.severity) for f in softer] == [("books.db.vacuum", "warning")]
    assert not has_errors(softer)
    off = LintSettings(contacts_verified=TODAY, disable=["catalog-import"])
    assert lint([], facts, off) == []


def test_a_gate_without_a_description_is_an_error() -> None:
    book = _book("bad.gate", approve=ob.Gate.confirm("Restart {app}?"))
    findings = lint([subject_of(book)], _facts("bad.gate"), VERIFIED)
    assert [f.rule for f in findings] == ["gate-undescribed"]
    assert "gate approve" in findings[0].message


def test_a_mutating_step_needs_an_undo_or_a_reason() -> None:
    @ob.step(title="Python change")
    def tweak(self: Any, ctx: ob.StepContext) -> None:
        """Change a thing."""

    @ob.step(irreversible="writes a log line")
    def logged(self: Any, ctx: ob.StepContext) -> None:
        """Write a line."""

    book = _book(
        "bad.undo",
        purge=ob.Command("echo purge"),
        tweak=tweak,
        logged=logged,
        probe=ob.Command("echo ::output v=1", rerun_on_resume=True, outputs=("v",)),
    )
    findings = lint([subject_of(book)], _facts("bad.undo"), VERIFIED)
    assert [(f.rule, f.message.split()[2]) for f in findings] == [
        ("undo-missing", "purge"),
        ("undo-missing", "tweak"),
    ]


def test_a_remote_step_must_declare_idempotency() -> None:
    book = _book(
        "bad.remote",
        restart=ob.Remote("systemctl restart shop", role="app", undo=ob.Remote("true", role="app")),
        reload=ob.Remote("systemctl reload shop", role="app", idempotent=True, irreversible="-"),
    )
    findings = lint([subject_of(book)], _facts("bad.remote"), VERIFIED)
    assert [(f.rule, f.severity) for f in findings] == [("remote-idempotency", "warning")]
    assert "remote step restart" in findings[0].message


def test_a_param_at_an_option_position_is_an_error() -> None:
    book = _book("bad.argv", fetch=ob.Command(["git", "fetch", "{flag}"], irreversible="fetch"))
    findings = lint([subject_of(book)], _facts("bad.argv"), VERIFIED)
    assert [f.rule for f in findings] == ["argv-dash"]
    assert "param flag" in findings[0].message and "ob.NoOption" in findings[0].fix
    safe = _book("ok.argv", fetch=ob.Command(["git", "fetch", "{app}"], irreversible="fetch"))
    assert lint([subject_of(safe)], _facts("ok.argv"), VERIFIED) == []


def test_an_unknown_related_name_is_an_error() -> None:
    book = _book("bad.related", related=["good.other", "nope.missing"])
    findings = lint([subject_of(book)], _facts("bad.related", "good.other"), VERIFIED)
    assert [f.rule for f in findings] == ["related-unknown"]
    assert "nope.missing" in findings[0].message


def test_rules_can_be_disabled_per_runbook_or_given_another_severity() -> None:
    book = _book("bad.gate", approve=ob.Gate.confirm("Restart {app}?"))
    facts = _facts("bad.gate")
    quiet = LintSettings(contacts_verified=TODAY, disable=["gate-undescribed:bad.gate"])
    assert lint([subject_of(book)], facts, quiet) == []
    softer = LintSettings(contacts_verified=TODAY, severity={"gate-undescribed": "warning"})
    findings = lint([subject_of(book)], facts, softer)
    assert [f.severity for f in findings] == ["warning"] and not has_errors(findings)


def test_a_config_naming_an_unknown_rule_is_bad_input() -> None:
    with pytest.raises(ConfigError, match=r"unknown rule\(s\): undo-mising") as caught:
        load(LintSettings, {"disable": ["undo-mising"]}, "lint").checked(RULE_IDS)
    assert caught.value.exit_code == 2 and "undo-missing" in str(caught.value)
    with pytest.raises(ConfigError, match=r"severity\.argv-dash"):
        load(LintSettings, {"severity": {"argv-dash": "fatal"}}, "lint")
    with pytest.raises(ConfigError, match="disabled"):
        load(LintSettings, {"disabled": []}, "lint")


def test_the_house_catalog_has_no_error() -> None:
    catalog = discover(["opsbooks_playbooks"], [])
    facts = Facts(TODAY, frozenset(catalog.names()), CONTACTS, {}, broken=catalog.broken)
    findings = lint([subject_of(rb) for rb in catalog], facts, LintSettings())
    assert not has_errors(findings), "\n".join(f.line() for f in findings)
    assert {f.rule for f in findings} <= {"not-exercised", "contacts-unverified"}
