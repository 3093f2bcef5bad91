"""The library knows nothing of the catalog (docs/architecture.md, the import contract): no
module of ``opsbooks`` names ``opsbooks_playbooks`` or a ``release.`` runbook, in code, strings,
comments or docstrings, and none imports it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "opsbooks"
NAMES_THE_CATALOG = re.compile(r"\b(?:opsbooks_)?playbooks\b|[\"']release\.")
CONTRACT = {"type": "forbidden", "source_modules": ["opsbooks"]}


def test_no_library_module_names_the_catalog() -> None:
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted(LIBRARY.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if NAMES_THE_CATALOG.search(line)
    ]
    assert found == [], "the library names the catalog:\n" + "\n".join(found)


def test_no_library_module_imports_the_catalog() -> None:
    graph = grimp.build_graph("opsbooks", include_external_packages=True, cache_dir=None)
    assert "opsbooks_playbooks" not in graph.modules


def test_lint_imports_keeps_the_contract() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = pyproject["tool"]["importlinter"]["contracts"]
    kept = [
        c
        for c in contracts
        if all(c.get(k) == v for k, v in CONTRACT.items())
        and "opsbooks_playbooks" in c.get("forbidden_modules", [])
    ]
    assert kept, "pyproject.toml lost the contract forbidding playbooks in opsbooks"
