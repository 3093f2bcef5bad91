"""``python -m bench --quick``: every row of issue 18 is printed and written to JSON.

One smoke run of the real suite in a subprocess (about 20 s: each row starts real
processes, which is what it measures). It checks the shape only, never a time: every
row has a numeric ratio, or is skipped with a reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=110, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, json.loads(out.read_text())


def test_every_row_of_the_issue_is_present(quick: tuple[str, dict[str, Any]]) -> None:
    _, results = quick
    assert {r["row"] for r in results["rows"]} == {1, 2, 3, 4, 5, 6, 7}
    names = {r["name"] for r in results["rows"]}
    assert {"engine", "per-step", "launch", "startup", "scaling", "resume", "ssh"} <= names
    assert {"render", "journal"} <= names


def test_every_ratio_is_a_number_or_a_skip_with_a_reason(
    quick: tuple[str, dict[str, Any]],
) -> None:
    _, results = quick
    for row in results["rows"]:
        if row["skipped"] is not None:
            assert row["ratio"] is None and len(row["skipped"]) > 10, row
            continue
        assert isinstance(row["ratio"], float) and row["ratio"] > 0, row
        assert row["ours_value"] is not None and row["baseline_value"] is not None, row
        assert row["reps"] >= 1 and len(row["spread_ours"]) == 2, row


def test_the_table_prints_every_row_and_the_machine(quick: tuple[str, dict[str, Any]]) -> None:
    stdout, results = quick
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert len(lines) == 2 + len(results["rows"])  # header, rule, one line a row
    assert all(("x |" in line) or ("skipped" in line) for line in lines[2:])
    assert results["quick"] is True and results["machine"]["nproc"] >= 1
    assert "cumulative_us" in results["imports"]


def test_an_unknown_row_is_refused_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "nosuchrow"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "unknown row(s) nosuchrow" in done.stderr and "engine" in done.stderr
    assert "Traceback" not in done.stderr
