"""The hook plugin scan skips ``importlib.metadata`` only when no distribution names the group.

``edges.hooks._installed`` reads the ``entry_points.txt`` files ``entry_points()``
would read and runs the full scan only when one of them names ``opsbooks.hooks``
(issue 18, row 1). Each case runs in a fresh interpreter with a temporary folder on
``sys.path`` holding a fake installed distribution, as ``pip install`` leaves it.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # fresh interpreters

PROBE = """
import json, sys
from pathlib import Path
from opsbooks.edges.hooks import ENTRY_POINT_GROUP, _installed, _may_declare

site = Path(sys.argv[1])
before = sorted(p.value for p in _installed())
if len(sys.argv) > 2:  # installed while the process runs: the next scan sees it
    dist = site / "late_hooks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\\nName: late-hooks\\nVersion: 1.0\\n")
    (dist / "entry_points.txt").write_text("[opsbooks.hooks]\\nlate = late_hooks:Late\\n")
print(json.dumps({
    "before": before,
    "after": sorted(p.value for p in _installed()),
    "may": _may_declare(ENTRY_POINT_GROUP.encode()),
    "scripts": _may_declare(b"console_scripts"),
}))
"""


def _dist(site: Path, name: str, entry_points: str) -> None:
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(entry_points)


def _scan(site: Path, *extra: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(site), *extra],
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_a_distribution_that_declares_the_group_is_found(tmp_path: Path) -> None:
    _dist(tmp_path, "counter_hooks", "[opsbooks.hooks]\ncounter = counter_hooks:Counter\n")
    found = _scan(tmp_path)
    assert found["before"] == found["after"] == ["counter_hooks:Counter"]
    assert found["may"] is True


def test_other_groups_alone_skip_the_scan_and_agree_with_importlib(tmp_path: Path) -> None:
    _dist(tmp_path, "tool", "[console_scripts]\ntool = tool:main\n")
    found = _scan(tmp_path)
    # the venv's own distributions declare console scripts but no hook: the pre-scan
    # says so, and what it skips is what importlib.metadata would have returned
    assert found == {"before": [], "after": [], "may": False, "scripts": True}


def test_a_hook_package_installed_while_the_process_runs_is_seen_next_time(
    tmp_path: Path,
) -> None:
    found = _scan(tmp_path, "install")
    assert found["before"] == [] and found["after"] == ["late_hooks:Late"]


def test_a_zip_on_sys_path_takes_the_full_scan(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("zipped_hooks-1.0.dist-info/METADATA", "Name: zipped-hooks\nVersion: 1.0\n")
        bundle.writestr(
            "zipped_hooks-1.0.dist-info/entry_points.txt",
            "[opsbooks.hooks]\nzipped = zipped_hooks:Zipped\n",
        )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from opsbooks.edges.hooks import _installed; "
            "print(sorted(p.value for p in _installed()))",
        ],
        env={**os.environ, "PYTHONPATH": str(archive)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['zipped_hooks:Zipped']"


def test_a_path_object_on_sys_path_takes_the_full_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsbooks.edges.hooks import ENTRY_POINT_GROUP, _may_declare

    # the standard finder alone, so no other installed finder decides it
    monkeypatch.setattr(sys, "meta_path", [importlib.machinery.PathFinder])
    monkeypatch.setattr(sys, "path", [tmp_path])  # not a str: importlib.metadata reads it
    assert _may_declare(ENTRY_POINT_GROUP.encode()) is True
    monkeypatch.setattr(sys, "path", [str(tmp_path)])  # an empty folder declares nothing
    assert _may_declare(ENTRY_POINT_GROUP.encode()) is False
