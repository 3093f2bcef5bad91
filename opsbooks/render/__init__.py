"""Outputs that are pure text: runbook pages, Mermaid flows and the docs tree."""

from __future__ import annotations

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
