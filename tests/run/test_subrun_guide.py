"""The guide's "Linked runs" example runs as written: the parent starts the child as a
run of its own, with the params the guide says. Fakes only (no subprocess)."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.config import Config
from opsbooks.edges.discovery import Catalog
from opsbooks.edges.session import Invocation, Surroundings, start_run
from opsbooks.records.journal import open_journal
from opsbooks.render.dryrun import render_dry_run
from opsbooks.testing.fakes import FakeBackend

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "writing-runbooks.md"


def _example(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The section's two modules, saved as the guide says (``opsbooks_playbooks/db/migrate.py``,
    then ``opsbooks_playbooks/web/release.py``, which imports the first), in one namespace."""
    text = GUIDE.read_text(encoding="utf-8").split("## Linked runs", 1)[1]
    sources = re.findall(r"```python\n(.*?)```", text.split("\n## ", 1)[0], re.S)
    assert len(sources) >= 2, "the Linked runs section has no two-module python example"
    namespace: dict[str, object] = {}
    for source in sources[:2]:
        name = source.splitlines()[0].strip('"').removesuffix(".py").replace("/", ".")
        module = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, module)
        exec(compile(source, "writing-runbooks.md", "exec"), module.__dict__)
        namespace.update(vars(module))
    return namespace


def test_the_linked_runs_example_runs_as_the_guide_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = _example(monkeypatch)
    release = example["Release"]
    assert isinstance(release, type) and issubclass(release, ob.Runbook)
    dry = render_dry_run(ob.plan(release, release.Params()))
    assert "starts a linked run of db.migrate with params db=app_staging, batch=50" in dry
    backend = FakeBackend()
    surroundings = Surroundings(
        stdin=io.StringIO(),
        stdout=io.StringIO(),
        environ={"OPSBOOKS_USER": "unit"},
        interactive=False,
        backend=backend,
        install_signal_handlers=False,
    )
    invocation = Invocation(runbook=release.name)
    report = start_run(invocation, Config(root=tmp_path), surroundings, Catalog([release]))
    assert report is not None and report.outcome.value == "succeeded"
    assert [c for c, _ in backend.calls] == [
        "pg_dump app_staging > app_staging.sql",
        "migrate --db app_staging --batch 50",
        "deploy --env staging",
    ]
    journal = open_journal(f"sqlite:///{tmp_path / '.opsbooks' / 'journal.db'}")
    try:
        (child,) = journal.runs("db.migrate")
        assert child.outcome == "succeeded"
    finally:
        journal.close()
