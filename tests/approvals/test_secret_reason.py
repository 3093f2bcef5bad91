"""A decision's reason is signed, then journaled verbatim: one a ``secret_patterns``
entry matches is refused before anything is signed, naming the pattern, never the value.
Fast: the refusal comes before any key, journal or ``ssh-keygen`` is touched.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cli_kit import journal_db, write_project

from opsbooks.edges.cli.approve import refuse_secret_reason
from opsbooks.edges.cli.main import main
from opsbooks.errors import BadInput

PATTERNS = ["ghp_[A-Za-z0-9]{36}", "(?i)bearer [a-z0-9._-]+"]
TOKEN = "ghp_" + "Z9k" * 12


def test_a_reason_matching_a_pattern_is_refused_by_index_and_pattern() -> None:
    refuse_secret_reason("change freeze until Monday", PATTERNS)
    refuse_secret_reason("", PATTERNS)
    refuse_secret_reason(f"token {TOKEN}", [])
    with pytest.raises(BadInput) as caught:
        refuse_secret_reason("curl said Bearer abc.def-123 was bad", PATTERNS)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert "secret_patterns[1] ('(?i)bearer [a-z0-9._-]+')" in message
    assert "abc.def-123" not in message and "nothing was signed" in message
    with pytest.raises(BadInput, match=r"secret_patterns\[0\]") as first:
        refuse_secret_reason(f"rotated {TOKEN} today", PATTERNS)
    assert TOKEN not in str(first.value)


def test_deny_with_a_secret_reason_exits_2_before_signing_or_journaling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "secret_patterns": PATTERNS,
        "approvals": {"allowed_signers": "allowed_signers", "roles": {"rm": ["a@example.com"]}},
    }
    root = write_project(tmp_path / "p", {}, config=config)
    monkeypatch.chdir(root)
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))  # no key exists: never reached
    err, out = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr("sys.stdout", out)
    code = main(["deny", "20261202-000000-000000", "go", "--reason", f"leaked {TOKEN}"])
    said = err.getvalue() + out.getvalue()
    assert code == 2, said
    assert "secret_patterns[0]" in said and TOKEN not in said
    assert "Traceback" not in said and len(said.strip().splitlines()) == 1
    assert not journal_db(root).exists()  # nothing recorded, not even a journal opened
