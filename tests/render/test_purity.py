"""Render modules stay pure: importing them pulls in no execution library."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # imports in a fresh python subprocess

FORBIDDEN = ("invoke", "fabric", "tenacity", "structlog", "paramiko")


def test_render_modules_import_no_execution_libraries() -> None:
    script = (
        "import json, sys\n"
        "import opsbooks.render.markdown, opsbooks.render.mermaid, opsbooks.render.catalog\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    loaded = json.loads(out)
    leaked = [m for m in loaded if m.split(".")[0] in FORBIDDEN]
    assert leaked == []
