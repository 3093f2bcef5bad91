"""Engine test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from enginekit import Project, make_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    root.mkdir()
    return make_project(root)
