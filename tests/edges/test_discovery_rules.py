"""What discovery imports: no catalog names, only the rules in the configuration guide."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbooks.edges.config import Config, load_config
from opsbooks.edges.discovery import CATALOG_GROUP, discover, installed_catalogs

RUNBOOK = '''
import opsbooks as ob


class {cls}(ob.Runbook):
    """A runbook discovery must find."""

    scope = "discovery tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    @ob.step(title="Nothing")
    def nothing(self, ctx: ob.StepContext) -> None:
        return None
'''
BOOBY_TRAP = 'raise RuntimeError("discovery imported {name}")\n'


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A catalog with a runbook, a helpers package that opts out, and modules never to import."""
    name = f"books_{uuid.uuid4().hex[:8]}"
    files = {
        "__init__.py": "",
        "ops/__init__.py": "",
        "ops/restart.py": RUNBOOK.format(cls="Restart"),
        "ops/_private.py": BOOBY_TRAP.format(name="a private module"),
        "ops/slow/__init__.py": BOOBY_TRAP.format(name="an excluded package"),
        "ops/slow/heavy.py": BOOBY_TRAP.format(name="an excluded module"),
        "helpers/__init__.py": "__runbooks__ = False\n",
        "helpers/ssh.py": BOOBY_TRAP.format(name="a helper module"),
        "db/__init__.py": "",
        "db/migrate.py": RUNBOOK.format(cls="Migrate"),
    }
    for relative, text in files.items():
        path = tmp_path / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_discovery_skips_private_excluded_and_opted_out_modules(package: str) -> None:
    catalog = discover([package], exclude=["*.slow"])
    assert catalog.names() == ["db.migrate", "ops.restart"]
    assert f"{package}.helpers" in sys.modules  # read for its __runbooks__, nothing under it
    assert not any(m.startswith(f"{package}.helpers.") for m in sys.modules)


def test_an_exclude_glob_matches_dotted_names(package: str) -> None:
    assert discover([package], exclude=[f"{package}.db", "*.slow"]).names() == ["ops.restart"]
    assert f"{package}.db" not in sys.modules
    unfiltered = discover([package])  # without the glob, the trap in ops/slow goes off
    assert any("an excluded package" in why for why in unfiltered.broken.values())


def test_exclude_is_a_configuration_key(tmp_path: Path) -> None:
    (tmp_path / "opsbooks.toml").write_text('packages = ["mine"]\nexclude = ["mine.lib"]\n')
    assert load_config(tmp_path).exclude == ["mine.lib"]


def test_with_no_packages_configured_the_installed_catalogs_are_used(tmp_path: Path) -> None:
    from importlib.metadata import entry_points

    declared = {e.value.partition(":")[0] for e in entry_points(group=CATALOG_GROUP)}
    assert installed_catalogs() == sorted(declared)
    assert Config().packages == installed_catalogs()
    (tmp_path / "opsbooks.toml").write_text('packages = ["mine"]\n')
    assert load_config(tmp_path).packages == ["mine"]
