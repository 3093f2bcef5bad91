"""The change, support and vulnerability runbooks: names, doc sections, argv safety, pages."""

from __future__ import annotations

import pytest

import opsbooks as ob
from opsbooks.define.argv import dash_positions
from opsbooks.edges.config import Contacts
from opsbooks.edges.discovery import discover
from opsbooks.render.markdown import render_runbook
from opsbooks_playbooks.change.emergency import ChangeEmergency
from opsbooks_playbooks.change.maintenance import ChangeMaintenance
from opsbooks_playbooks.change.request import ChangeRequest
from opsbooks_playbooks.security.vulnerability_patch import VulnerabilityPatch
from opsbooks_playbooks.support.common_issues import SupportCommonIssues
from opsbooks_playbooks.support.escalation import SupportEscalation

ALL: list[type[ob.Runbook]] = [
    ChangeRequest,
    ChangeMaintenance,
    ChangeEmergency,
    SupportEscalation,
    SupportCommonIssues,
    VulnerabilityPatch,
]


def test_catalog_names() -> None:
    names = set(discover(["opsbooks_playbooks"]).names())
    assert {r.name for r in ALL} <= names
    for runbook in ALL:
        assert set(runbook.related) <= names, runbook.name


@pytest.mark.parametrize("runbook", ALL, ids=lambda r: r.name)
def test_house_template(runbook: type[ob.Runbook]) -> None:
    assert runbook.purpose() and runbook.scope and runbook.owner
    assert runbook.prerequisites and runbook.verification and runbook.troubleshooting
    assert runbook.recovery and runbook.related and runbook.changelog
    assert str(runbook.reviewed_on()) == "2026-12-02"
    assert dash_positions(runbook) == []


@pytest.mark.parametrize("runbook", ALL, ids=lambda r: r.name)
def test_page_lists_every_step(runbook: type[ob.Runbook]) -> None:
    page = render_runbook(runbook, Contacts(L1="ops", L2="platform", L3="eng"))
    for planned in ob.plan(runbook).steps:
        assert planned.id in page


def test_hostile_values_stay_one_argument() -> None:
    values = {
        "change_id": "CHG-7",
        "service": "api",
        "summary": "a; rm -rf / $(touch pwned)",
        "change_command": "true",
        "rollback_command": "true",
        "verify_command": "true",
        "reviews_dir": "my reviews",
    }
    plan = ob.plan(ChangeEmergency, ChangeEmergency.Params(**values))
    command = plan.get("schedule_review").command or ""
    assert "'--summary=a; rm -rf / $(touch pwned)'" in command
    assert "--dir 'my reviews'" in command
