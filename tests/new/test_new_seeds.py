"""``new --from`` on the runbooks both seed documents embed, with the counts read off them.

Seed 000 embeds four (its template, release deployment, rollback, security incident);
seed 003 one enterprise template. Each is converted, the module is loaded, and its
runbook has the sections, steps, verification and trouble entries the prose has.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from prose_kit import SEED_000, SEED_003, embedded, load, parse, source_of

#: (title, sections, steps, verification, troubles, related as text) read off each seed
EXPECTED = [
    (SEED_000, 0, "[Procedure Name]", 2, 5, 2, 1, 2),
    (SEED_000, 1, "Release Deployment Runbook", 5, 15, 4, 2, 2),
    (SEED_000, 2, "Rollback Procedure Runbook", 4, 12, 3, 0, 1),
    (SEED_000, 3, "Security Incident Response Runbook", 5, 15, 4, 0, 1),
    (SEED_003, 0, "[Procedure Name] Runbook", 0, 3, 0, 2, 0),
]


def test_the_seeds_embed_the_runbooks_counted_here() -> None:
    assert (len(embedded(SEED_000)), len(embedded(SEED_003))) == (4, 1)


@pytest.mark.parametrize(
    ("seed", "index", "title", "sections", "steps", "checks", "troubles", "links"), EXPECTED
)
def test_each_embedded_runbook_converts_with_its_counts(
    seed: str,
    index: int,
    title: str,
    sections: int,
    steps: int,
    checks: int,
    troubles: int,
    links: int,
) -> None:
    prose = parse(embedded(seed)[index])
    assert prose.title == title
    got = (len(prose.sections), len(prose.all_steps()), len(prose.verification))
    assert got == (sections, steps, checks)
    assert (len(prose.troubles), len(prose.related_text), prose.related) == (troubles, links, ())
    runbook = load(source_of(prose))
    assert len(runbook.sections) == sections and len(runbook.steps) == steps
    assert all(type(step).__name__ == "Manual" for step in runbook.steps)  # no code blocks
    # a doc section the prose lacks is said so, never left empty (lint requires them)
    assert runbook.troubleshooting and runbook.verification and runbook.recovery


def test_release_deployment_keeps_its_structure_and_text() -> None:
    prose = parse(embedded(SEED_000)[1])
    assert [s.title for s in prose.sections] == [
        "Pre-Deployment Checks",
        "Create Release Tag",
        "Trigger Release Workflow",
        "Verify Release",
        "Announce Release",
    ]
    tag = prose.sections[1].steps[0]
    assert (tag.title, tag.text) == ("Create release tag", "Create release tag: `git tag v1.0.0`")
    workflow = prose.sections[2].steps[0]
    assert workflow.text.endswith(
        "- Sign and notarize\n  - Create GitHub release\n  - Publish update feeds"
    )
    assert prose.prerequisites == (
        "Release is tested and approved",
        "Release tag is created",
        "Release notes are prepared",
    )
    assert [(t.symptom, t.solution) for t in prose.troubles] == [
        ("Release workflow fails", "Check workflow logs, fix issues, retry"),
        ("Artifacts not signed", "Check signing certificates, verify secrets"),
    ]
    assert prose.related_text == (
        "Rollback Procedure (Rollback_Procedure.md)",
        "Hotfix Release (Hotfix_Release.md)",
    )


def test_the_enterprise_template_maps_overview_recovery_and_troubleshooting() -> None:
    prose = parse(embedded(SEED_003)[0])
    assert prose.purpose == "What this procedure accomplishes"
    assert prose.scope == "When to use this procedure"
    assert prose.prerequisites == ("Required access/tools/knowledge",)
    assert [s.title for s in prose.steps] == [
        "Detailed action with expected outcome",
        "Commands with examples",
        "Validation steps",
    ]
    assert [(t.symptom, t.solution) for t in prose.troubles] == [
        ("Common Issues", "Known problems and solutions"),
        ("Escalation Criteria", "When to escalate"),
    ]
    assert (
        prose.recovery
        == "- If Procedure Fails: Recovery steps\n- Rollback Steps: How to undo changes"
    )
    assert any("L1 Support" in note for note in prose.notes)  # contacts kept as text


def test_the_seed_template_trouble_has_symptoms_cause_and_solution() -> None:
    (trouble,) = parse(embedded(SEED_000)[0]).troubles
    assert (trouble.symptom, trouble.cause, trouble.solution) == (
        "[Issue Description]: What you see",
        "What causes it",
        "How to fix it",
    )
