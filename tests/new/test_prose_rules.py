"""Each mapping rule of ``opsbooks new --from``, on small Markdown texts (fast, pure)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from prose_kit import load, parse, source_of

from opsbooks.define.template import bind
from opsbooks.edges.prose import NoProcedure
from opsbooks.edges.prose.commands import judge


def test_title_and_purpose_come_from_the_first_heading_and_paragraph() -> None:
    prose = parse("# Rotate the keys\n\nRotate the API keys every quarter.\n\n1. Do it\n")
    assert prose.title == "Rotate the keys"
    assert prose.purpose == "Rotate the API keys every quarter."


def test_numbered_items_are_manual_steps_with_their_nested_lines() -> None:
    prose = parse("# T\n\n## Steps\n1. First: do this\n   - and that\n2. Second thing\n")
    assert [(s.id, s.title, s.is_command) for s in prose.steps] == [
        ("first", "First", False),
        ("second_thing", "Second thing", False),
    ]
    assert prose.steps[0].text == "First: do this\n  - and that"
    assert prose.sections == ()  # a "Steps" heading holds top-level steps


def test_headings_that_hold_steps_are_sections_and_others_are_kept_as_text() -> None:
    text = (
        "# T\n\n## Steps\n### Step 1: Drain\nTake it out.\n\n1. Drain it\n\n## Background\nWhy.\n"
    )
    prose = parse(text)
    assert [(s.id, s.title, s.description) for s in prose.sections] == [
        ("drain", "Drain", "Take it out.")
    ]
    assert prose.sections[0].steps[0].id == "drain_it"
    assert "Why." in prose.details


def test_a_plain_shell_block_becomes_command_steps_one_per_line() -> None:
    text = "# T\n\n```bash\n$ git status\n## output\n$ ls -la /tmp | wc -l\n```\n"
    prose = parse(text)
    assert [(s.argv, s.shell, s.rule) for s in prose.steps] == [
        (("git", "status"), "", "plain"),
        ((), "ls -la /tmp | wc -l", "plain"),
    ]


@pytest.mark.parametrize(
    ("code", "lang", "rule"),
    [
        ("curl -fsSL https://x.example/i.sh | sh", "bash", "pipe-to-shell"),
        ("sudo systemctl reload nginx", "bash", "sudo"),
        ("ssh <host> uptime", "sh", "placeholder"),
        ("deploy --env {{env}}", "sh", "placeholder"),
        ("cat > /etc/x.conf <<EOF\na=1\nEOF", "bash", "heredoc"),
        ("rm -rf /var/cache/app", "bash", "destructive"),
        ("kubectl delete pod web-1", "bash", "destructive"),
        ("git push --force origin main", "bash", "destructive"),
        ("psql -c 'DROP TABLE users'", "bash", "destructive"),
        ("systemctl restart app", "bash", "destructive"),
        ("cd /srv/app\nmake", "bash", "shell-state"),
        ("echo 'unbalanced", "bash", "unreadable"),
        ("SELECT 1;", "sql", "not-shell: a sql block, not known to be shell commands"),
        ("uptime", "", "not-shell: an unlabelled block, not known to be shell commands"),
    ],
)
def test_unsure_blocks_stay_manual_and_name_the_rule(code: str, lang: str, rule: str) -> None:
    assert judge(code, lang).commands == ()
    assert judge(code, lang).rule == rule
    prose = parse(f"# T\n\n```{lang}\n{code}\n```\n")
    assert [(s.is_command, s.rule) for s in prose.steps] == [(False, rule)]
    assert code in prose.steps[0].text  # the command is shown to the person
    assert f"because {rule.split(':')[0]}" not in source_of(prose)  # the comment explains it


def test_shell_variables_are_not_taken_for_placeholders() -> None:
    assert judge("echo ${HOME} $PATH", "sh").commands == ("echo ${HOME} $PATH",)


def test_a_numbered_item_with_a_safe_block_is_a_command_titled_by_the_item() -> None:
    prose = parse("# T\n\n1. Check the disk:\n   ```sh\n   df -h /\n   ```\n2. Done\n")
    first = prose.steps[0]
    assert (first.title, first.argv, first.text) == (
        "Check the disk",
        ("df", "-h", "/"),
        "Check the disk:",
    )
    assert prose.steps[1].is_command is False


def test_verification_checklists_are_the_verification_list() -> None:
    prose = parse("# T\n\n1. Go\n\n## Verification\n- [ ] It answers\n- [x] Logs are clean\n")
    assert prose.verification == ("It answers", "Logs are clean")
    assert len(prose.steps) == 1


def test_a_checklist_elsewhere_is_steps() -> None:
    prose = parse("# T\n\n## Before the window\n- [ ] Tell support\n- [ ] Freeze merges\n")
    assert [s.title for s in prose.all_steps()] == ["Tell support", "Freeze merges"]


def test_issue_blocks_are_trouble_entries() -> None:
    text = (
        "# T\n\n1. Go\n\n## Troubleshooting\n\n### Issue: Pods crash\n"
        "**Symptoms**: CrashLoopBackOff\n**Cause**: bad config\n**Solution**: roll back\n\n"
        "### Issue: Slow\n**Solution**: scale up\n"
    )
    troubles = parse(text).troubles
    assert [(t.symptom, t.cause, t.solution) for t in troubles] == [
        ("Pods crash: CrashLoopBackOff", "bad config", "roll back"),
        ("Slow", "", "scale up"),
    ]


def test_keyed_paragraphs_without_issue_headings_are_entries_too() -> None:
    text = (
        "# T\n\n1. Go\n\n## Troubleshooting\n**Issue**: Disk full **Cause**: logs\n\n"
        "**Issue**: Slow **Solution**: wait\n\n- **Escalation Criteria:** after 1h\n"
    )
    assert [(t.symptom, t.cause, t.solution) for t in parse(text).troubles] == [
        ("Disk full", "logs", ""),
        ("Slow", "", "wait"),
        ("Escalation Criteria", "", "after 1h"),
    ]


def test_related_names_that_look_like_runbooks_are_kept_and_others_are_text() -> None:
    text = (
        "# T\n\n1. Go\n\n## Related\n- [Roll back](release.rollback)\n- db.failover\n"
        "- [Wiki](Rollback_Procedure.md)\n- [Notes](notes.md)\n"
    )
    prose = parse(text)
    assert prose.related == ("release.rollback", "db.failover")
    assert prose.related_text == ("Wiki (Rollback_Procedure.md)", "Notes (notes.md)")
    settled = prose.settle_related(frozenset({"db.failover"}))
    assert settled.related == ("db.failover",)
    assert "release.rollback (no such runbook yet)" in settled.related_text


def test_overview_keys_give_scope_prerequisites_and_owner() -> None:
    text = (
        "# T\n\n## Overview\n- **Purpose:** Fail over the DB\n- **Scope:** the EU primary\n"
        "- **Prerequisites:** psql access\n- **Owner:** dba\n\n## Steps\n1. Go\n\n"
        "## Recovery Procedures\n- **If it fails:** fail back\n"
    )
    prose = parse(text)
    assert (prose.purpose, prose.scope, prose.prerequisites, prose.owner) == (
        "Fail over the DB",
        "the EU primary",
        ("psql access",),
        "dba",
    )
    assert prose.recovery == "- If it fails: fail back"
    assert "owner = 'dba'" not in source_of(prose) and 'owner = "dba"' in source_of(prose)


@pytest.mark.parametrize(
    "text",
    ["", "# Only a title\n\nAnd a paragraph.\n", "# T\n\n- a bullet\n\n## Verification\n- [ ] x\n"],
)
def test_a_text_without_a_procedure_is_refused(text: str) -> None:
    with pytest.raises(NoProcedure, match="no numbered list, checklist or shell code block"):
        parse(text)


def test_ids_are_unique_identifiers_never_reserved_names() -> None:
    text = "# T\n\n1. Title\n2. title\n3. class\n4. 2 things\n5. ob\n6. !!!\n"
    ids = [s.id for s in parse(text).steps]
    assert ids == [
        "title_step",
        "title_step_2",
        "class_step",
        "step_2_things",
        "ob_step",
        "step_step",
    ]


HOSTILE = 'Say """ and \\ and {braces} and {{x}} and \'q\' "d" ünï ✅ \x00 \u2028 end"'


def test_hostile_text_round_trips_through_the_generated_source() -> None:
    text = (
        f"# {HOSTILE}\n\n{HOSTILE}\n\n## Steps\n1. {HOSTILE}\n\n"
        f"```sh\necho '{{a b}}' '\"\"\"' \\\\\n```\n\n"
        f"## Verification\n- [ ] {HOSTILE}\n\n## Troubleshooting\n### Issue: {HOSTILE}\n"
        f"**Solution**: {HOSTILE}\n"
    )
    prose = parse(text)
    runbook = load(source_of(prose))
    assert runbook.title == prose.title and runbook.verification == (prose.verification[0],)
    assert runbook.troubleshooting[0].solution == prose.troubles[0].solution
    manual, command = (runbook.steps[0], runbook.steps[1])
    assert bind(manual.instructions, {}, shell=False).text == prose.steps[0].text
    assert bind(command.command, {}, shell=True).text == prose.steps[1].shell
    assert HOSTILE.split("\x00")[0].split()[0] in (runbook.__doc__ or "")
