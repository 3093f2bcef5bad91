"""A catalog module that fails to import: one paragraph, at the bad step's line, whole.

The program runs in-process through ``main`` against a real project directory (no
subprocess), so these are fast tests.
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbooks.edges.cli.main import main
from opsbooks.edges.discovery import import_error, step_line

GOOD = '''\
import opsbooks as ob


class Good(ob.Runbook):
    """A runbook that imports."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

    hello = ob.Command("echo hello")
'''

#: ``second`` (line 12) names an unknown parameter in its ``when=``.
BROKEN_WHEN = '''\
import opsbooks as ob

class Broken(ob.Runbook):
    """Broken on purpose."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

    class Params(ob.Params):
        env: str = ob.Field("dev", description="environment")

    first = ob.Command("echo first")
    second = ob.Command("echo {env}", when="colour == 'red'")
'''

#: ``announce`` (line 22) names an unknown parameter with a long list of known ones.
BROKEN_LONG = '''\
import opsbooks as ob

class Wordy(ob.Runbook):
    """Broken on purpose, with a long error."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

    class Params(ob.Params):
{fields}
    announce = ob.Command("echo {{enviroment}}")
'''
LONG_FIELDS = "".join(
    f'        parameter_number_{i}: str = ob.Field("x", description="p")\n' for i in range(12)
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A project with a good module; each test adds its broken one."""
    package = f"books_{uuid.uuid4().hex[:8]}"
    root = tmp_path / "project"
    (root / package / "ops").mkdir(parents=True)
    (root / "opsbooks.toml").write_text(f'packages = ["{package}"]\n')
    (root / package / "__init__.py").write_text("")
    (root / package / "ops" / "__init__.py").write_text("")
    (root / package / "ops" / "good.py").write_text(GOOD)
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield root / package / "ops"
    for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
        del sys.modules[name]


def _paragraphs(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("opsbooks: ")]


def test_asking_for_the_broken_runbook_prints_its_error_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "broken.py").write_text(BROKEN_WHEN)
    assert main(["run", "ops.broken", "--dry-run"]) == 2
    err = capsys.readouterr().err
    [paragraph] = _paragraphs(err)
    assert paragraph.startswith("opsbooks: runbook 'ops.broken' cannot be loaded"), err
    assert "warning" not in err
    assert f"{project / 'broken.py'}:12: " in paragraph  # the `second =` line, not `class`
    assert "step 'second'" in paragraph and "names 'colour'" in paragraph


def test_the_warning_names_only_the_other_broken_modules(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "broken.py").write_text(BROKEN_WHEN)
    assert main(["run", "ops.good", "--dry-run"]) == 0
    captured = capsys.readouterr()
    [paragraph] = _paragraphs(captured.err)
    assert paragraph.startswith("opsbooks: warning: 1 catalog module(s) failed to import")
    assert "broken.py:12" in paragraph
    assert "$ echo hello" in captured.out


def test_a_runbook_named_apart_from_its_module_is_refused_by_its_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``name = "custom.thing"`` in ``ops/broken.py``: the DefinitionError names it."""
    named = BROKEN_WHEN.replace(
        '    """Broken on purpose."""\n', '    """B."""\n    name = "custom.thing"\n'
    )
    (project / "broken.py").write_text(named)
    assert main(["show", "custom.thing"]) == 2
    [paragraph] = _paragraphs(capsys.readouterr().err)
    assert paragraph.startswith("opsbooks: runbook 'custom.thing' cannot be loaded"), paragraph
    assert "broken.py:13: " in paragraph


def test_a_long_definition_error_is_printed_whole(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "wordy.py").write_text(BROKEN_LONG.format(fields=LONG_FIELDS))
    assert main(["run", "ops.wordy", "--dry-run"]) == 2
    [paragraph] = _paragraphs(capsys.readouterr().err)
    assert len(paragraph) > 600
    assert "parameter_number_11" in paragraph
    assert "Add it to Params or fix the name.). Fix the module, then run it again." in paragraph
    assert "wordy.py:22: " in paragraph  # the `announce =` line
    assert "..." not in paragraph


def test_a_foreign_import_error_is_still_cut_to_one_paragraph() -> None:
    try:
        raise ValueError("x" * 1000)
    except ValueError as exc:
        text = import_error(exc, "books.ops.thing")
    assert text.startswith("ValueError: x") and text.endswith("...") and len(text) < 320


SECTIONED = '''\
class Book(ob.Runbook):
    """Doc."""

    @ob.step(title="Python")
    def probe(self, ctx):
        return None

    class checks(ob.Section):
        title = "Checks"
        disk: ob.Command = ob.Command("df")
        disk_free = ob.Command("df -h")

    app = ob.Include("ops.app")
    after = ob.Command("true")


class Other(ob.Runbook):
    late = ob.Command("true")
'''


@pytest.mark.parametrize(
    ("step", "line"),
    [
        ("probe", 5),  # a decorated method: its `def` line
        ("checks.disk", 10),  # a section's step, found under its `class` line
        ("checks.disk_free", 11),  # a longer name is not taken for a prefix
        ("app.stop", 13),  # an included step: the Include line, the deepest found
        ("after", 14),
        ("late", 1),  # another class's step: not in this block, the class line stays
        ("missing", 1),
    ],
)
def test_step_line_finds_the_assignment_in_the_class_block(
    tmp_path: Path, step: str, line: int
) -> None:
    path = tmp_path / "book.py"
    path.write_text(SECTIONED)
    assert step_line(str(path), 1, step) == line


GATED = '''\
import opsbooks as ob


class Gated(ob.Runbook):
    """Stops at its gate, so there is a run to resume."""

    scope, owner, last_reviewed = "tests", "sre", "2026-12-01"

    approve = ob.Gate.confirm("Go on?")
'''


def test_resuming_a_run_whose_module_no_longer_imports_prints_its_error_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runbook's name comes from the journal, so the catalog warning must skip it."""
    (project / "gated.py").write_text(GATED)
    assert main(["run", "ops.gated"]) == 3  # no terminal, no answer: stopped at the gate
    [run_id] = re.findall(r"opsbooks resume (\S+)", capsys.readouterr().out)
    for name in [m for m in sys.modules if m.endswith(".ops.gated")]:
        del sys.modules[name]
    (project / "gated.py").write_text(GATED + '    later = ob.Command("x", when="nope")\n')
    assert main(["resume", run_id]) == 2
    err = capsys.readouterr().err
    [paragraph] = _paragraphs(err)
    assert paragraph.startswith("opsbooks: runbook 'ops.gated' cannot be loaded"), err
    assert "warning" not in err
