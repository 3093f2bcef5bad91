"""Prose runbooks (Markdown) turned into do-nothing runbook modules, for ``opsbooks new``.

Three pure steps, one module each: ``markdown`` reads the text into flat blocks,
``parse`` maps the blocks onto a small frozen model (``model``) by the rules of the
guide "Add a runbook: opsbooks new", and ``source`` writes the model as Python source
whose every piece of the user's text is a quoted literal. Nothing here reads a file,
the clock or the catalog: ``opsbooks.edges.newbook`` does, and passes them in.
"""

from __future__ import annotations

from opsbooks.edges.prose.model import Prose
from opsbooks.edges.prose.parse import NoProcedure, parse_prose
from opsbooks.edges.prose.source import Header, render_module

__all__ = ["Header", "NoProcedure", "Prose", "parse_prose", "render_module"]
