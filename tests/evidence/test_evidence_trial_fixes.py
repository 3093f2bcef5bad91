"""Fast: what a new-user trial found in ``opsbooks evidence``, each made true in-process.

The window is stated as the exact instants it filtered by; a catalog module that fails
to import is named in the bundle and makes it exit 1; a tampered ``manifest.sha256``
blames itself, not the file its bad line names; a folder without the manifest files is
named as such; the README says how to re-verify an approval by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from cli_kit import write_project

from opsbooks.edges.cli.evidence import window_of
from opsbooks.edges.cli.main import main
from opsbooks.govern import evidence as ev
from opsbooks.records.journal import open_journal

GOOD = '''\
    class Tidy(ob.Runbook):
        """Tidy the scratch folder."""

        scope, owner, last_reviewed = "tests", "sre", "2026-11-20"

        tidy = ob.Command("echo tidy")
    '''
BROKEN = "import no_such_module_for_evidence  # noqa: F401\n"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def run_cli(root: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(root)
    err, out = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.stdout", out)
    code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def project(tmp_path: Path, package: str, modules: dict[str, str]) -> Path:
    root = write_project(tmp_path / "p", modules, package=package)
    (root / ".opsbooks").mkdir()
    open_journal(f"sqlite:///{root / '.opsbooks' / 'journal.db'}").close()
    return root


def read(root: Path, relative: str) -> Any:
    return json.loads((root / "b" / relative).read_text())


def test_a_duration_window_is_recorded_as_the_exact_instants_it_filtered_by(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "evbooks_window", {"ops/tidy": GOOD})
    before = time.time()
    code, out, err = run_cli(
        root, "evidence", "--since", "30s", "--out", "b", monkeypatch=monkeypatch
    )
    assert code == 0, out + err
    window = read(root, "manifest.json")["window"]
    assert read(root, "approvals.json")["window"] == window
    assert ISO.match(window["since"]) and ISO.match(window["until"]), window
    since = dt.datetime.fromisoformat(window["since"]).timestamp()
    until = dt.datetime.fromisoformat(window["until"]).timestamp()
    assert before - 30.01 <= since <= before - 29 and 29.9 <= until - since <= 31, window
    assert "a duration back" in window["since_given"]
    readme = (root / "b" / "README.md").read_text()
    assert f"# Operational evidence: {window['since']} to {window['until']}" in readme
    assert f"runs started from {window['since']} (inclusive; --since 30s" in readme


def test_a_date_stays_a_day_boundary_at_midnight_utc_and_says_so() -> None:
    since, until = window_of("2026-06-01", "2026-06-30", time.time())
    record = ev.window_record("2026-06-01", "2026-06-30", since, until)
    assert (record["since"], record["until"]) == ("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z")
    assert record["since_given"] == "--since 2026-06-01: a date, so the start of that day, 00:00Z"
    assert record["until_given"] == "--until 2026-06-30: a date, so the end of that day, 00:00Z"
    assert "(exclusive; --until 2026-06-30: a date" in ev.window_text(record)
    one_day = window_of("1d", None, 1_780_000_000.5)
    assert ev.instant(one_day[0]) == "2026-05-27T20:26:40.500Z"


def test_a_module_that_fails_to_import_is_named_and_the_bundle_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path, "evbooks_broken", {"ops/tidy": GOOD, "ops/gone": BROKEN})
    code, out, err = run_cli(
        root, "evidence", "--since", "1d", "--out", "b", monkeypatch=monkeypatch
    )
    assert code == 1, out + err
    assert "wrote the evidence bundle" in out and "INCOMPLETE: 1 catalog module(s)" in err
    assert "Traceback" not in out + err
    reviews = read(root, "reviews.json")
    assert [r["runbook"] for r in reviews["runbooks"]] == ["ops.tidy"]
    (error,) = reviews["catalog_errors"]
    assert error["module"] == "evbooks_broken.ops.gone"
    assert "no_such_module_for_evidence" in error["error"]
    readme = (root / "b" / "README.md").read_text()
    assert "## INCOMPLETE: 1 catalog module(s) failed to import" in readme
    assert "- `evbooks_broken.ops.gone`: " in readme
    done = run_cli(root, "evidence", "verify", "b", monkeypatch=monkeypatch)
    assert done[0] == 0, done  # incomplete, but what was written is intact


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = project(tmp_path, "evbooks_verify", {"ops/tidy": GOOD})
    code, out, err = run_cli(
        root, "evidence", "--since", "1d", "--out", "b", monkeypatch=monkeypatch
    )
    assert code == 0, out + err
    return root


def test_an_edited_line_of_manifest_sha256_blames_it_not_the_file(
    written: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = written / "b" / "manifest.sha256"
    first = digests.read_text().splitlines()[0]
    assert first.endswith("  README.md")
    digests.write_text(digests.read_text().replace(first, "0" * 64 + "  README.md"))
    code, out, _ = run_cli(written, "evidence", "verify", "b", monkeypatch=monkeypatch)
    assert code == 1, out
    assert "  changed: manifest.sha256 (its line for README.md disagrees" in out
    assert "changed: README.md" not in out


def test_an_edited_manifest_digest_line_names_the_two_manifest_files(
    written: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = written / "b" / "manifest.sha256"
    last = digests.read_text().splitlines()[-1]
    digests.write_text(digests.read_text().replace(last, "f" * 64 + "  manifest.json"))
    code, out, _ = run_cli(written, "evidence", "verify", "b", monkeypatch=monkeypatch)
    assert code == 1, out
    lines = out.splitlines()[1:]
    assert lines == [
        "  changed: manifest.json or manifest.sha256 (the manifest's own digest line no "
        "longer matches manifest.json: one of the two was edited, so trust neither)"
    ], out


def test_a_missing_digest_file_is_named_and_the_rest_still_checked(
    written: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (written / "b" / "manifest.sha256").unlink()
    (written / "b" / "lint.json").write_text("[]\n")
    code, out, err = run_cli(written, "evidence", "verify", "b", monkeypatch=monkeypatch)
    assert code == 1, out + err
    assert "  missing: manifest.sha256 (the digest file;" in out
    assert "  changed: lint.json" in out and "No such file" not in out + err


def test_a_folder_without_a_manifest_is_not_a_bundle_and_says_which_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "plain.txt").write_text("x\n")
    code, out, err = run_cli(tmp_path, "evidence", "verify", "loose", monkeypatch=monkeypatch)
    assert code == 2, out + err
    assert f"loose is not an evidence bundle: no manifest.json in {tmp_path / 'loose'}" in err
    assert "No such file" not in err and err.count("\n") == 1
    code, _, err = run_cli(tmp_path, "evidence", "verify", "plain.txt", monkeypatch=monkeypatch)
    assert code == 2 and "is not a folder" in err, err


def test_the_readme_names_the_signers_file_and_how_to_verify_by_hand() -> None:
    signers = {"path": "/etc/opsbooks/allowed_signers", "sha256": "ab" * 32, "namespace": "ops"}
    window = ev.window_record("1d", None, 0.0, 86_400.0)
    text = ev.readme(
        window=window, by="a", at="t", version="v", totals=ev.Totals(), signers=signers
    )
    assert f"`/etc/opsbooks/allowed_signers` (sha256 `{'ab' * 32}`)" in text
    assert "byte-exact, its trailing newline included" in text
    assert "ssh-keygen -Y verify -f /etc/opsbooks/allowed_signers -I PRINCIPAL -n ops" in text
    bare = ev.readme(window=window, by="a", at="t", version="v", totals=ev.Totals())
    assert "against nothing: no allowed_signers file is configured" in bare
    assert hashlib.sha256(text.encode()).hexdigest() != hashlib.sha256(bare.encode()).hexdigest()
