"""Outputs that are pure text: runbook pages, Mermaid flows and the docs tree.

The names below are imported on first use (``__getattr__``): the console of a run
needs ``render.sections`` only, and importing this package must not load the page,
catalog and Mermaid renderers with it (bench row 1).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsbooks.render.catalog import (
        DriftReport,
        WriteReport,
        check_docs,
        render_catalog,
        render_index,
        write_docs,
    )
    from opsbooks.render.markdown import GENERATED_MARKER, SECTIONS, page_path, render_runbook
    from opsbooks.render.mermaid import render_flow

__all__ = [
    "GENERATED_MARKER",
    "SECTIONS",
    "DriftReport",
    "WriteReport",
    "check_docs",
    "page_path",
    "render_catalog",
    "render_flow",
    "render_index",
    "render_runbook",
    "write_docs",
]

#: public name -> the module that defines it, imported when the name is first read
_LAZY = {
    "DriftReport": "opsbooks.render.catalog",
    "WriteReport": "opsbooks.render.catalog",
    "check_docs": "opsbooks.render.catalog",
    "render_catalog": "opsbooks.render.catalog",
    "render_index": "opsbooks.render.catalog",
    "write_docs": "opsbooks.render.catalog",
    "GENERATED_MARKER": "opsbooks.render.markdown",
    "SECTIONS": "opsbooks.render.markdown",
    "page_path": "opsbooks.render.markdown",
    "render_runbook": "opsbooks.render.markdown",
    "render_flow": "opsbooks.render.mermaid",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        # a submodule the eager package used to bind (``opsbooks.render.catalog``)
        if name.startswith("_") or importlib.util.find_spec(f"{__name__}.{name}") is None:
            raise AttributeError(f"module 'opsbooks.render' has no attribute {name!r}")
        return importlib.import_module(f"{__name__}.{name}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
