"""The catalog index: used only while what it was built from is unchanged (issue 18, row 3).

Each test builds a small catalog package in a temporary project, lists it once (the
index is written), then changes one thing the index depends on and lists again. A
module is dropped from ``sys.modules`` before a listing that must import it, as a new
process would; a listing that must not import it is checked by its absence there.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbooks.edges.catalog_index import INDEX_FILE, load_catalog
from opsbooks.edges.config import validate
from opsbooks.edges.config_source import ConfigSource, config_source
from opsbooks.edges.discovery import Catalog
from opsbooks.errors import BadInput, ConfigError

RUNBOOK = '''
import opsbooks as ob


class Restart(ob.Runbook):
    """Restart the app."""

    title = "{title}"
    scope = "index tests"
    owner = "sre"
    last_reviewed = "2026-11-28"

    class Params(ob.Params):
        version: str = ob.Field("1.0", description="the version")
        dry: bool = False

    @ob.step(title="Nothing")
    def nothing(self, ctx: ob.StepContext) -> None:
        return None
'''


class Project:
    """A project root with ``opsbooks.toml`` and one catalog package of one runbook."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.package = f"books_{uuid.uuid4().hex[:8]}"
        self.module = f"{self.package}.ops.restart"
        self.write("__init__.py", "")
        self.write("ops/__init__.py", "")
        self.write("ops/restart.py", RUNBOOK.format(title="Alpha Restart"))
        self.configure(f'packages = ["{self.package}"]\n')
        self.warnings: list[str] = []

    def write(self, relative: str, text: str) -> Path:
        path = self.root / self.package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def configure(self, text: str) -> None:
        (self.root / "opsbooks.toml").write_text(text)

    @property
    def index(self) -> Path:
        return self.root / ".opsbooks" / INDEX_FILE

    def forget(self) -> None:
        """Drop the package's modules, as a new process starts without them."""
        for name in [m for m in sys.modules if m.split(".")[0] == self.package]:
            del sys.modules[name]

    def load(self) -> Catalog:
        source = config_source(self.root)
        return load_catalog(source, lambda: validate(source), self.warnings.append)

    def titles(self) -> list[str]:
        return [summary.title for summary in self.load().summaries()]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    # no .pyc: Python's own cache checks mtime and size, and one test keeps both
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    made = Project(tmp_path)
    yield made
    made.forget()


def test_a_warm_listing_imports_no_runbook_module_and_the_index_is_private(
    project: Project,
) -> None:
    assert project.titles() == ["Alpha Restart"]
    assert stat.S_IMODE(project.index.stat().st_mode) == 0o600
    project.forget()
    catalog = project.load()
    summary = catalog.summary("ops.restart")
    assert (summary.title, summary.steps, summary.module) == ("Alpha Restart", 1, project.module)
    assert [(f.flag, f.default, f.kind) for f in summary.flags] == [
        ("--version", "1.0", "value"),
        ("--dry", False, "bool"),
    ]
    assert project.module not in sys.modules
    assert catalog.get("ops.restart").title == "Alpha Restart"  # imported when asked for
    assert project.module in sys.modules


def test_an_edited_title_is_listed_even_with_the_same_size_and_mtime(project: Project) -> None:
    assert project.titles() == ["Alpha Restart"]
    path = project.root / project.package / "ops" / "restart.py"
    before = path.stat()
    path.write_text(RUNBOOK.format(title="Bravo Restart"))  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    project.forget()
    assert project.titles() == ["Bravo Restart"]


def test_a_new_module_or_a_changed_helper_is_not_hidden_by_the_index(project: Project) -> None:
    project.titles()
    project.write("ops/other.py", RUNBOOK.format(title="Other").replace("Restart", "Other"))
    project.forget()
    assert project.load().names() == ["ops.other", "ops.restart"]
    project.write("ops/_helper.py", "TITLE = 'x'\n")  # not walked, but hashed: may be imported
    stored = json.loads(project.index.read_text())
    project.forget()
    project.load()
    assert json.loads(project.index.read_text())["files"] != stored["files"]


def test_a_changed_configuration_is_not_served_from_the_index(project: Project) -> None:
    project.titles()
    project.configure(f'packages = ["{project.package}"]\nexclude = ["*.ops.restart"]\n')
    project.forget()
    assert project.load().names() == []
    project.configure(f'packages = ["{project.package}"]\nstate_dir = 5\n')
    with pytest.raises(ConfigError, match="state_dir"):
        project.load()  # an invalid table is refused, never listed from an index


def test_a_corrupt_index_is_said_in_one_line_and_rebuilt(project: Project) -> None:
    project.titles()
    project.index.write_text('{"runbooks": [{"name": "ops.restart"')
    project.forget()
    assert project.titles() == ["Alpha Restart"]
    assert len(project.warnings) == 1 and "unreadable; rebuilding" in project.warnings[0]
    assert json.loads(project.index.read_text())["runbooks"][0]["title"] == "Alpha Restart"
    project.index.write_text('{"key": 1, "runbooks": [{"title": "Forged"}]}')
    project.forget()
    assert project.titles() == ["Alpha Restart"]


def test_a_broken_module_is_reported_every_time_and_never_indexed(project: Project) -> None:
    project.titles()
    project.write("ops/broken.py", "import opsbooks as ob\nraise RuntimeError('no db driver')\n")
    for _ in range(2):
        project.forget()
        catalog = project.load()
        assert "no db driver" in catalog.warning()
        assert catalog.names() == ["ops.restart"]
    files = json.loads(project.index.read_text())["files"]
    assert not [p for p in files if p.endswith("broken.py")]  # the index from before it


def test_an_indexed_runbook_whose_module_broke_since_is_refused_as_bad_input(
    project: Project,
) -> None:
    project.titles()
    catalog = project.load()
    project.forget()
    project.write("ops/restart.py", "raise RuntimeError('half-written')\n")
    with pytest.raises(BadInput, match="half-written"):
        catalog.get("ops.restart")


def test_catalog_index_false_always_imports(project: Project) -> None:
    project.configure(f'packages = ["{project.package}"]\ncatalog_index = false\n')
    project.titles()
    assert not project.index.exists()


def test_a_table_read_raw_reads_only_what_the_index_needs() -> None:
    source = ConfigSource(root=Path("/p"), path=Path("/p/opsbooks.toml"), table={"packages": 3})
    assert (source.packages, source.exclude, source.state_path) == ([], [], Path("/p/.opsbooks"))
    assert source.digest != ConfigSource(root=Path("/p"), path=source.path).digest


def test_a_project_helper_outside_the_package_is_part_of_the_key(project: Project) -> None:
    helper = project.root / f"{project.package}_lib.py"
    helper.write_text("TITLE = 'From Helper'\n")
    text = RUNBOOK.replace('title = "{title}"', f"from {project.package}_lib import TITLE as title")
    project.write("ops/restart.py", text)
    assert project.titles() == ["From Helper"]
    helper.write_text("TITLE = 'Edited Helper'\n")
    project.forget()
    sys.modules.pop(f"{project.package}_lib", None)
    assert project.titles() == ["Edited Helper"]


def test_a_file_whose_marks_are_unchanged_is_not_read_again(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsbooks.edges import catalog_index

    monkeypatch.setattr(catalog_index, "_RACY_NS", 0)
    read: list[str] = []
    sha256 = catalog_index._sha256
    monkeypatch.setattr(catalog_index, "_sha256", lambda path: read.append(path) or sha256(path))
    assert project.titles() == ["Alpha Restart"]
    ours = {path for path in read if project.package in path}  # not deps (this file)
    stats = json.loads(project.index.read_text())["stats"]
    assert len(ours) == 3 and {path for path in stats if project.package in path} == ours
    read.clear()
    project.forget()
    assert project.titles() == ["Alpha Restart"]
    assert not [path for path in read if project.package in path]
    path = project.root / project.package / "ops" / "restart.py"
    before = path.stat()
    path.write_text(RUNBOOK.format(title="Omega Restart"))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    project.forget()
    assert project.titles() == ["Omega Restart"], "a new ctime: read again"
    assert project.module in sys.modules


def test_marks_of_files_too_recent_to_trust_are_added_later(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opsbooks.edges import catalog_index

    assert project.titles() == ["Alpha Restart"]  # just written: within the racy window
    ours = project.package
    assert not [p for p in json.loads(project.index.read_text())["stats"] if ours in p]
    monkeypatch.setattr(catalog_index, "_RACY_NS", 0)
    project.forget()
    assert project.titles() == ["Alpha Restart"]
    assert project.module not in sys.modules, "still current: not rebuilt"
    assert len([p for p in json.loads(project.index.read_text())["stats"] if ours in p]) == 3
