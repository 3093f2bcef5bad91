"""docs/reference.md's step-kind reference is generated from the code and complete."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import opsbooks as ob
from opsbooks.define import template
from opsbooks.define.base import Step
from opsbooks.render.reference import public_kinds, render_reference, splice

ROOT = Path(__file__).resolve().parents[2]


def test_every_public_step_kind_and_keyword_is_listed() -> None:
    exported = [
        getattr(ob, name)
        for name in ob.__all__
        if isinstance(getattr(ob, name), type) and issubclass(getattr(ob, name), Step)
    ]
    assert len(exported) >= 10
    text = render_reference(public_kinds(), [("{x}", "a param")])
    for kind in exported:
        assert f"### `{kind.__name__}`" in text, kind
        section = text.split(f"### `{kind.__name__}`", 1)[1].split("\n### ", 1)[0]
        own = {f.name for f in dataclasses.fields(kind)} - {"id"}
        if kind is not Step:
            own -= {f.name for f in dataclasses.fields(Step)}
        for name in own:
            assert f"| `{name}` |" in section, (kind.__name__, name)


def test_docs_reference_is_up_to_date() -> None:
    """What ``scripts/gen-reference.py --check`` checks in ``make docs-check``."""
    current = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    placeholders = getattr(template, "PLACEHOLDERS", ())
    wanted = splice(current, render_reference(public_kinds(), placeholders))
    assert wanted == current, "run `.venv/bin/python scripts/gen-reference.py`"
