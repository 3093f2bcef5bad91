"""``Project``: what ``Runbook.prepare_project`` sees of the configuration a run will use.

A frozen record, built by the engine (``opsbooks.edges.prepare``) from the loaded
configuration; reading it does no I/O. The hook may do I/O of its own (make a folder,
clone a repository) and tells the operator about it through ``say``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

#: Why the engine is preparing: a run, a dry run, or the resume of a recorded run.
Mode = Literal["run", "dry-run", "resume"]


def _silent(_text: str) -> None:
    """Say nothing (a ``Project`` built by hand, as in a unit test)."""


@dataclass(frozen=True)
class Project:
    """The project a run is about to use: its root, its config file and its settings.

    ``settings`` is ``[settings.<category>]`` with ``[settings."<category>.<name>"]``
    on top, for the runbook being prepared. ``configured`` is false only when no
    configuration file was found and the defaults apply.
    """

    root: Path
    source: str = "(defaults)"
    configured: bool = False
    settings: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    mode: Mode = "run"
    say: Callable[[str], None] = field(default=_silent, compare=False, repr=False)

    def path(self, relative: str | Path) -> Path:
        """Resolve a configured path against the project root (``~`` expanded)."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate
