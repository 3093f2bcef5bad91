"""The lint rules: each a pure check of one runbook against the facts passed in.

A rule yields (message, fix) pairs; ``lint`` turns them into ``Finding`` lines with the
rule id, its configured severity and the runbook. The facts a rule may read beyond the
runbook itself (today, the catalog's names, the contacts table, when each runbook last
succeeded or was drilled) come in a ``Facts`` record that ``opsbooks.edges`` fills from
the clock and the journal, so every rule is tested with plain values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from opsbooks.define.contacts import Contacts
from opsbooks.govern.settings import LintSettings, Severity
from opsbooks.govern.subjects import REMOTE, Subject

#: the runbook column of a finding about the catalog as a whole (the contacts table)
CATALOG = "(catalog)"


@dataclass(frozen=True)
class Exercise:
    """When a runbook last succeeded and was last drilled (measured RTO/RPO), per journal."""

    last_success: dt.date | None = None
    last_drill: dt.date | None = None


@dataclass(frozen=True)
class Facts:
    """Everything outside the runbook a rule may read."""

    today: dt.date
    known: frozenset[str]
    contacts: Contacts = field(default_factory=Contacts)
    exercised: Mapping[str, Exercise] = field(default_factory=dict)
    #: catalog module -> its import error in one line (its runbooks are missing)
    broken: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One problem: ``RULE-ID severity runbook: message (fix)``."""

    rule: str
    severity: Severity
    runbook: str
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.rule} {self.severity} {self.runbook}: {self.message} ({self.fix})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "runbook": self.runbook,
            "message": self.message,
            "fix": self.fix,
        }


Check = Callable[[Subject, Facts, LintSettings], Iterator[tuple[str, str]]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Check


def _sections(subject: Subject, facts: Facts, settings: LintSettings) -> Iterator[tuple[str, str]]:
    info = subject.info
    present = {
        "purpose": (bool(info.purpose.strip()), "write the class docstring"),
        "scope": (bool(info.scope.strip()), "set `scope = ...`"),
        "prerequisites": (bool(info.prerequisites), "list them in `prerequisites = [...]`"),
        "verification": (bool(info.verification), "list checks in `verification = [...]`"),
        "troubleshooting": (bool(info.troubleshooting), "add `troubleshooting = [...]`"),
        "recovery": (bool(info.recovery.strip()), "say how to get back in `recovery = ...`"),
        "contacts": (
            any((facts.contacts.L1, facts.contacts.L2, facts.contacts.L3)),
            "set [tool.opsbooks.contacts] L1/L2/L3 in config",
        ),
        "owner": (bool(info.owner.strip()), "set `owner = ...`"),
    }
    for name, (ok, fix) in present.items():
        if not ok:
            yield f"the {name} section is missing or empty", fix


def _review(subject: Subject, facts: Facts, settings: LintSettings) -> Iterator[tuple[str, str]]:
    due = subject.info.next_review
    if due is None:
        yield "never reviewed", f"run `opsbooks review {subject.info.name} --notes ...`"
    elif due < facts.today:
        yield (
            f"review overdue since {due.isoformat()} (last reviewed "
            f"{subject.info.reviewed_on}, every {subject.info.review_every_days} days)",
            f"review it and run `opsbooks review {subject.info.name} --notes ...`",
        )


def _exercised(subject: Subject, facts: Facts, settings: LintSettings) -> Iterator[tuple[str, str]]:
    info, window = subject.info, settings.exercised_within_days
    since = facts.today - dt.timedelta(days=window)
    seen = facts.exercised.get(info.name, Exercise())
    if info.rto or info.rpo:
        if seen.last_drill is None or seen.last_drill < since:
            last = seen.last_drill.isoformat() if seen.last_drill else "never"
            yield (
                f"not drilled within {window} days (last drill with measured RTO/RPO: {last})",
                f"run a drill: `opsbooks run {info.name}` in a test environment",
            )
    elif seen.last_success is None or seen.last_success < since:
        last = seen.last_success.isoformat() if seen.last_success else "never"
        yield (
            f"no successful run within {window} days (last: {last})",
            f"run it (or a drill of it) to show it works: `opsbooks run {info.name}`",
        )


def _gates(subject: Subject, facts: Facts, settings: LintSettings) -> Iterator[tuple[str, str]]:
    for step in subject.steps:
        if step.kind == "gate" and not step.description.strip():
            yield (
                f"gate {step.id} does not say what the person must check before answering",
                'add description="what to look at, and what makes the answer yes"',
            )


def _undo(subject: Subject, facts: Facts, settings: LintSettings) -> Iterator[tuple[str, str]]:
    for step in subject.steps:
        if step.mutating and step.undo is None and not step.irreversible.strip():
            yield (
                f"{step.kind} step {step.id} changes something and has neither an undo "
                f"nor a reason it cannot be undone",
                'add undo=... or irreversible="why it cannot be undone"',
            )


def _idempotency(
    subject: Subject, facts: Facts, settings: LintSettings
) -> Iterator[tuple[str, str]]:
    for step in subject.steps:
        if step.kind in REMOTE and not step.idempotent:
            yield (
                f"remote step {step.id} does not declare idempotency, so after a crash "
                f"mid-rollout resume must ask a person about every host in doubt",
                f"set idempotent=True if running it twice on a host is safe; if it is not, "
                f"disable `remote-idempotency:{subject.info.name}` in config",
            )


def _dash(subject: Subject, facts: Facts, settings: LintSettings) -> Iterator[tuple[str, str]]:
    for where in subject.dash:
        yield (
            f"param {where.param} starts an argv word in step {where.step} and may start "
            f"with '-', so a value could be read as an option",
            "type it ob.NoOption (or put a literal `--` before it)",
        )


def _related(subject: Subject, facts: Facts, settings: LintSettings) -> Iterator[tuple[str, str]]:
    for name in subject.info.related:
        if name not in facts.known:
            yield (
                f"related runbook {name} does not exist (its link on the page is dead)",
                "fix the name or drop it from `related`; `opsbooks list` shows the names",
            )


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("section-missing", "error", "a required template section is empty", _sections),
        Rule("review-overdue", "error", "last review + interval is before today", _review),
        Rule("not-exercised", "warning", "no success (or drill) in the window", _exercised),
        Rule("gate-undescribed", "error", "a gate without what to check", _gates),
        Rule("undo-missing", "error", "a mutating step without undo/irreversible", _undo),
        Rule("remote-idempotency", "warning", "a remote step not idempotent", _idempotency),
        Rule("argv-dash", "error", "a param at an argv option position", _dash),
        Rule("related-unknown", "error", "a related name that does not exist", _related),
    )
}
#: the catalog-wide rule, checked once rather than per runbook
CONTACTS_RULE = Rule("contacts-unverified", "warning", "contacts not verified lately", _sections)
#: the catalog-wide rule for a module that failed to import; its runbook column is the module
IMPORT_RULE = Rule("catalog-import", "error", "a catalog module fails to import", _sections)
RULE_IDS = frozenset([*RULES, CONTACTS_RULE.id, IMPORT_RULE.id])


def lint(subjects: Iterable[Subject], facts: Facts, settings: LintSettings) -> list[Finding]:
    """Every finding of every enabled rule, catalog-wide ones first, then by runbook."""
    settings.checked(RULE_IDS)
    found = [*_contacts(facts, settings), *_imports(facts, settings)]
    for subject in sorted(subjects, key=lambda s: s.info.name):
        for rule in RULES.values():
            if not settings.enabled(rule.id, subject.info.name):
                continue
            severity = settings.severity.get(rule.id, rule.severity)
            for message, fix in rule.check(subject, facts, settings):
                found.append(Finding(rule.id, severity, subject.info.name, message, fix))
    return found


def _contacts(facts: Facts, settings: LintSettings) -> Iterator[Finding]:
    rule = CONTACTS_RULE
    if not settings.enabled(rule.id, CATALOG):
        return
    severity = settings.severity.get(rule.id, rule.severity)
    verified, window = settings.contacts_verified, settings.contacts_within_days
    if verified is not None and verified >= facts.today - dt.timedelta(days=window):
        return
    when = verified.isoformat() if verified else "never recorded"
    yield Finding(
        rule.id,
        severity,
        CATALOG,
        f"contacts not verified within {window} days (last: {when})",
        "call each escalation level, then set contacts_verified = YYYY-MM-DD in "
        "[tool.opsbooks.lint]",
    )


def _imports(facts: Facts, settings: LintSettings) -> Iterator[Finding]:
    rule = IMPORT_RULE
    severity = settings.severity.get(rule.id, rule.severity)
    for module, error in sorted(facts.broken.items()):
        if not settings.enabled(rule.id, module):
            continue
        first = error.strip().splitlines()[0] if error.strip() else "(no message)"
        yield Finding(
            rule.id,
            severity,
            module,
            f"the module failed to import, so its runbooks are missing from the catalog "
            f"and from every check: {first}",
            f'see the whole error with `python -c "import {module}"` and fix the module',
        )


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
