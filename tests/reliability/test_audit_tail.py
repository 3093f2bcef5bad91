"""A resume checks the end of the audit file against the journal's anchor, read backwards.

``AuditLog(expected=...)`` no longer re-hashes every line of a long run before it
appends (``records/audit_tail.py``); these tests write real chains and check the end
is still held to the anchor (cut, extended, rewritten: refused), that the full
``verify`` still catches an edit before the anchor after the run appended to it, and
that lines longer than the read block are read whole.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsbooks.errors import BadInput
from opsbooks.records.audit import AuditLog, _digest, verify
from opsbooks.records.audit_tail import last_lines, tail_matches
from opsbooks.records.redaction import Redactor


def _chain(path: Path, lines: int, **fields: str) -> list[str]:
    """Write ``lines`` audit lines; return the anchor after each."""
    anchors: list[str] = []
    log = AuditLog(path, "r1", Redactor([]), anchor=anchors.append)
    for index in range(lines):
        log.write("step_started", step=f"s{index}", **fields)
    log.close()
    return anchors


def _ends(path: Path, anchor: str) -> bool:
    head, _, lines = anchor.partition(":")
    return tail_matches(path, head, int(lines), _digest)


def test_the_end_at_the_anchor_or_one_line_past_it_matches(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    anchors = _chain(path, 300)
    assert _ends(path, anchors[-1])  # at the anchor
    assert _ends(path, anchors[-2])  # one line past: written, not yet anchored
    assert not _ends(path, anchors[-3])  # two past: lines added
    assert verify(path, anchors[-1]).ok


def test_a_cut_or_rewritten_end_does_not_match_and_resume_refuses(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    anchors = _chain(path, 50)
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join(text[:-2]))  # cut two lines off
    assert not _ends(path, anchors[-1])
    with pytest.raises(BadInput, match="does not verify"):
        AuditLog(path, "r1", Redactor([]), expected=anchors[-1])
    last = json.loads(text[-1])
    last["step"] = "forged"
    path.write_text("".join(text[:-1]) + json.dumps(last) + "\n")  # content edited
    assert not _ends(path, anchors[-1])
    last["hash"] = _digest({k: v for k, v in last.items() if k != "hash"})
    path.write_text("".join(text[:-1]) + json.dumps(last) + "\n")  # and re-hashed
    assert not _ends(path, anchors[-1])
    with pytest.raises(BadInput, match="does not verify"):
        AuditLog(path, "r1", Redactor([]), expected=anchors[-1])


def test_an_edit_before_the_anchor_still_fails_verify_after_a_resume(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    anchors = _chain(path, 20)
    text = path.read_text().splitlines(keepends=True)
    path.write_text("".join([text[0], text[1].replace('"s1"', '"sX"'), *text[2:]]))
    resumed = AuditLog(path, "r1", Redactor([]), anchor=anchors.append, expected=anchors[-1])
    resumed.write("step_started", step="s20")  # the chain goes on from the anchored end
    resumed.close()
    assert json.loads(path.read_text().splitlines()[-1])["seq"] == 21
    found = verify(path, anchors[-1])
    assert not found.ok and any("line 2" in p for p in found.problems)


def test_lines_longer_than_a_read_block_are_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "r1.jsonl"
    anchors = _chain(path, 3, output="x" * 20_000)
    tail = last_lines(path, 2)
    assert [json.loads(line)["seq"] for line in tail] == [2, 3]
    assert _ends(path, anchors[-1])
    assert last_lines(path, 10) == path.read_text().splitlines()
