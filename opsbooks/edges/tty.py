"""Whether output goes to a terminal that draws, and whether it may use colour.

Kept free of imports so that ``history``, ``stats`` and ``show`` can ask without
loading the runner (or rich, which only a terminal gets).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO


def on_terminal(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """Whether ``stream`` is a terminal that can draw (``TERM=dumb`` cannot)."""
    if environ.get("TERM", "") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def wants_color(environ: Mapping[str, str], *, no_color: bool = False) -> bool:
    """Colour unless ``--no-color`` or ``NO_COLOR`` set to any non-empty value (no-color.org)."""
    return not no_color and not environ.get("NO_COLOR", "")
