"""The audit chain, secrets kept out of every record, and journals opsbooks must not touch."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from enginekit import Project, make_project

pytestmark = pytest.mark.slow  # the CLI in subprocesses

CANARY = "canary-7f3a9e-do-not-leak"


@pytest.fixture
def audited(project: Project) -> tuple[Project, str, Path]:
    assert project.write("fixed", "")
    done = project.cli("run", "eng.fails")
    assert done.code == 0, done.both
    run_id = project.last_run()
    path = project.root / ".opsbooks" / "runs" / f"{run_id}.jsonl"
    assert project.cli("audit", "verify", run_id).code == 0
    return project, run_id, path


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_audit_verify_detects_an_edited_line(audited: tuple[Project, str, Path]) -> None:
    project, run_id, path = audited
    lines = _lines(path)
    assert '"a"' in lines[2]
    lines[2] = lines[2].replace('"a"', '"z"', 1)
    path.write_text("".join(lines))
    done = project.cli("audit", "verify", run_id)
    assert done.code == 1 and "line 3" in done.out and "edited" in done.out


def test_audit_verify_detects_a_dropped_line(audited: tuple[Project, str, Path]) -> None:
    project, run_id, path = audited
    lines = _lines(path)
    del lines[4]
    path.write_text("".join(lines))
    done = project.cli("audit", "verify", run_id)
    assert done.code == 1 and "line 5" in done.out and "dropped" in done.out


def test_audit_verify_detects_reordered_lines(audited: tuple[Project, str, Path]) -> None:
    project, run_id, path = audited
    lines = _lines(path)
    lines[3], lines[4] = lines[4], lines[3]
    path.write_text("".join(lines))
    done = project.cli("audit", "verify", run_id)
    assert done.code == 1 and "line 4" in done.out


def test_audit_verify_detects_a_truncated_tail(audited: tuple[Project, str, Path]) -> None:
    project, run_id, path = audited
    path.write_text("".join(_lines(path)[:-2]))
    done = project.cli("audit", "verify", run_id)
    assert done.code == 1, done.both
    assert "journal" in done.out or "truncated" in done.out or "head" in done.out, done.out


def test_secret_appears_in_no_output_or_record(project: Project) -> None:
    env = {"OPSBOOKS_SECRET_TOKEN": CANARY}
    done = project.cli("run", "eng.secret", env=env)
    assert done.code == 1, done.both
    assert "exit code 4" in done.out
    run_id = project.last_run()
    resumed = project.cli("resume", run_id, env=env)
    assert resumed.code == 1
    texts = {
        "run console": done.both,
        "resume console": resumed.both,
        "report": project.cli("report", run_id).both,
        "report json": project.cli("report", run_id, "--format", "json").both,
        "history": project.cli("history").both,
        "dry run": project.cli("run", "eng.secret", "--dry-run", env=env).both,
    }
    no_secret = project.cli("resume", run_id)
    assert no_secret.code == 2 and "OPSBOOKS_SECRET_TOKEN" in no_secret.err
    texts["resume without the secret"] = no_secret.both
    for what, text in texts.items():
        assert CANARY not in text, what
    assert "token=" in done.out  # the command's output is shown, with the value masked
    state = project.root / ".opsbooks"
    files = [p for p in state.rglob("*") if p.is_file()]
    assert any(p.name.startswith("journal.db") for p in files)
    assert any(p.suffix == ".jsonl" for p in files)
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path


def test_secret_given_as_a_flag_is_not_stored(project: Project) -> None:
    done = project.cli("run", "eng.secret", "--token", CANARY)
    assert done.code == 1, done.both
    assert CANARY not in done.both
    for path in (project.root / ".opsbooks").rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


def test_secret_patterns_redact_command_output(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    project = make_project(root, 'secret_patterns = ["AKIA[A-Z0-9]{16}"]\n')
    done = project.cli("run", "eng.pattern")
    assert done.code == 0, done.both
    assert "AKIAZZZZ1234567890QQ" not in done.both and "key=" in done.out
    assert "AKIAZZZZ1234567890QQ" not in project.cli("report", project.last_run()).out
    for path in (project.root / ".opsbooks").rglob("*"):
        if path.is_file():
            assert b"AKIAZZZZ1234567890QQ" not in path.read_bytes(), path


def test_corrupt_journal_is_a_clear_error_and_left_alone(project: Project) -> None:
    project.journal_path.parent.mkdir(parents=True)
    garbage = b"this is not a database\x00" * 100
    project.journal_path.write_bytes(garbage)
    for args in (("run", "eng.basic", "--yes"), ("history",)):
        done = project.cli(*args)
        assert done.code == 2, done.both
        assert "journal" in done.err and "Traceback" not in done.err
    assert project.journal_path.read_bytes() == garbage
    assert project.ledger == []


def test_unreadable_journal_path_is_a_clear_error(project: Project) -> None:
    project.journal_path.mkdir(parents=True)  # a directory where the file should be
    done = project.cli("run", "eng.basic", "--yes")
    assert done.code == 2, done.both
    assert "journal" in done.err and "Traceback" not in done.err
    assert project.ledger == []


def test_newer_journal_schema_is_refused_untouched(project: Project) -> None:
    assert project.cli("run", "eng.basic", "--yes").code == 0
    db = sqlite3.connect(project.journal_path)
    with db:
        db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    before = project.journal_path.read_bytes()
    done = project.cli("run", "eng.basic", "--yes")
    assert done.code == 2, done.both
    assert "schema version 99" in done.err
    assert project.journal_path.read_bytes() == before
    assert project.ledger == ["prepare blue", "finish"]
