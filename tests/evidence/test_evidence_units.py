"""Fast: the bundle's manifest and its check, review entries, and bad input refused (exit 2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from cli_kit import write_project

from opsbooks.define.runbook import Change
from opsbooks.edges.cli.main import main
from opsbooks.govern import evidence as ev

FILES = {"README.md": b"# evidence\n", "runs/r1/report.md": b"# Run r1\n", "lint.json": b"[]\n"}


def bundle(files: dict[str, bytes]) -> tuple[bytes, str, dict[str, ev.Entry]]:
    entries = [ev.Entry.of(path, data) for path, data in files.items()]
    manifest = ev.manifest_text(entries, {"since": "2026-01-01", "until": "2026-12-02"}).encode()
    return manifest, ev.digests_text(entries, manifest), {e.path: e for e in entries}


def test_the_digests_file_is_sha256sum_format_ending_with_the_manifest() -> None:
    manifest, digests, _ = bundle(FILES)
    lines = digests.splitlines()
    assert lines[-1] == f"{hashlib.sha256(manifest).hexdigest()}  manifest.json"
    assert lines[0] == f"{hashlib.sha256(FILES['README.md']).hexdigest()}  README.md"
    assert [line.split("  ")[1] for line in lines] == [*sorted(FILES), "manifest.json"]


def test_an_intact_bundle_checks_and_each_kind_of_damage_is_named() -> None:
    manifest, digests, found = bundle(FILES)
    assert ev.check(manifest, digests, found) == ev.Check(3)
    damaged = dict(found)
    damaged["runs/r1/report.md"] = ev.Entry.of("runs/r1/report.md", b"# Run r2\n")
    del damaged["lint.json"]
    damaged["extra.txt"] = ev.Entry.of("extra.txt", b"x")
    result = ev.check(manifest, digests, damaged)
    assert not result.intact
    assert (result.changed, result.missing, result.extra) == (
        ("runs/r1/report.md",),
        ("lint.json",),
        ("extra.txt",),
    )


def test_a_manifest_edited_to_match_a_changed_file_fails_its_own_digest() -> None:
    _, digests, _ = bundle(FILES)
    changed = {**FILES, "lint.json": b"[{}]\n"}
    forged, _, found = bundle(changed)
    result = ev.check(forged, digests, found)
    assert (result.manifest, result.changed, result.digests) == ("changed", ("lint.json",), ())
    assert ev.problems(result)[0].startswith("changed: manifest.json or manifest.sha256 (")


def test_a_folder_without_a_manifest_of_this_format_is_not_a_bundle() -> None:
    with pytest.raises(ev.NotABundle, match="format"):
        ev.check(b'{"files": []}', "", {})
    with pytest.raises(ev.NotABundle, match="not a manifest"):
        ev.check(b"not json", "", {})


class Info:
    name, owner, review_every_days = "db.restore", "dba", 30
    reviewed_on = dt.date(2026, 11, 1)
    next_review = dt.date(2026, 12, 1)
    changelog = (
        Change("2026-10-01", "Written", "dave"),
        Change("2026-11-01", "Reviewed: restore timed", "alice"),
        Change("2026-11-15", "Reviewed: contacts", "bob"),
    )


def test_a_review_entry_names_the_reviewers_and_says_when_it_is_overdue() -> None:
    entry = ev.review_entry(Info(), dt.date(2026, 12, 2))  # type: ignore[arg-type]
    assert entry["overdue"] is True and entry["next_review"] == "2026-12-01"
    assert entry["reviewers"] == ["alice", "bob"]
    assert [r["date"] for r in entry["reviews"]] == ["2026-11-01", "2026-11-15"]
    assert ev.review_entry(Info(), dt.date(2026, 12, 1))["overdue"] is False  # type: ignore[arg-type]


def run_cli(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(root)
    err, out = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.stdout", out)
    code = main(list(args))
    return code, err.getvalue() + out.getvalue()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "p", {})
    (root / ".opsbooks").mkdir()
    return root


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--since", "last-tuesday"), "--since 'last-tuesday' is neither a duration nor a date"),
        (("--since", "2026-06-01", "--until", "2026-05-01"), "is before --since 2026-06-01"),
        (("--since", "2026-01-01", "--until", "soon"), "--until 'soon' is not a date"),
        (("--out", "b"), "needs --since"),
        (("--since", "2026-01-01"), "needs --out DIR"),
        (("--since", "2026-01-01", "--out", "full"), "--out "),
        (("--since", "2026-01-01", "--out", "b"), "there is no journal at"),
    ],
)
def test_bad_input_is_one_paragraph_and_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...], says: str
) -> None:
    (project / "full").mkdir()
    (project / "full" / "old.txt").write_text("x")
    code, text = run_cli(project, "evidence", *args, monkeypatch=monkeypatch)
    assert code == 2, text
    assert says in text and "Traceback" not in text and text.count("\n") == 1
    assert not (project / "b").exists()


def test_an_unreadable_journal_is_exit_2_and_left_alone(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = b"this is not a database\x00" * 100
    (project / ".opsbooks" / "journal.db").write_bytes(garbage)
    code, text = run_cli(
        project, "evidence", "--since", "2026-01-01", "--out", "b", monkeypatch=monkeypatch
    )
    assert code == 2 and "journal" in text and "Traceback" not in text, text
    assert (project / ".opsbooks" / "journal.db").read_bytes() == garbage


def test_verify_of_a_folder_that_is_not_a_bundle_is_exit_2(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "loose").mkdir()
    (project / "loose" / "report.md").write_text("# hi\n")
    for target in ("loose", "nowhere"):
        code, text = run_cli(project, "evidence", "verify", target, monkeypatch=monkeypatch)
        assert code == 2 and "is not an evidence bundle" in text, text
