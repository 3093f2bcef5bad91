"""The public API is ``opsbooks.__all__``: sorted, importable, and complete."""

from __future__ import annotations

import inspect

import opsbooks
from opsbooks import errors
from opsbooks.define import steps


def test_all_is_sorted_and_importable() -> None:
    assert opsbooks.__all__ == sorted(opsbooks.__all__)
    for name in opsbooks.__all__:
        assert hasattr(opsbooks, name), name


def test_every_step_kind_and_error_is_exported() -> None:
    public = set(opsbooks.__all__)
    for module, base in ((steps, steps.Step), (errors, errors.OpsbooksError)):
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, base) and not name.startswith("_"):
                assert name in public, f"{module.__name__}.{name} is not in opsbooks.__all__"


def test_sections_and_include_are_exported() -> None:
    assert {"Include", "Section"} <= set(opsbooks.__all__)


def test_subrun_is_exported() -> None:
    assert "SubRun" in opsbooks.__all__
