"""Shared by the ``opsbooks new`` tests: the seeds' embedded runbooks, and loading a module.

Imported, not collected (``tests/new`` is put on ``sys.path`` by each test module).
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import opsbooks as ob
from opsbooks.edges.newbook import RESERVED
from opsbooks.edges.prose import Header, Prose, parse_prose, render_module

HERE = Path(__file__).resolve().parent
#: the seeds beside the repository (../shared/seeds) when there, else the copies here
SEEDS = next(
    (p for p in (HERE.parents[2] / "shared" / "seeds", HERE / "seeds") if p.is_dir()),
    HERE / "seeds",
)
SEED_000 = "000_e37fb1120f5c68a6.txt"
SEED_003 = "003_dd3308853b22a42d.txt"
_EMBEDDED = re.compile(r"^```markdown\n(.*?)\n```$", re.DOTALL | re.MULTILINE)


def embedded(seed: str) -> list[str]:
    """The runbook templates a seed embeds as ```markdown blocks, in order."""
    return _EMBEDDED.findall((SEEDS / seed).read_text(encoding="utf-8"))


def parse(text: str) -> Prose:
    return parse_prose(text, reserved=RESERVED, fallback="Fallback")


def source_of(prose: Prose, name: str = "ops.converted") -> str:
    header = Header(name, "Converted", "Operations", "2026-12-02", "runbook.md")
    return render_module(prose, header)


def load(source: str, module: str = "newbooks.ops.converted") -> type[ob.Runbook]:
    """Compile and execute ``source`` as module ``module``; its one runbook class."""
    namespace = types.ModuleType(module)
    sys.modules[module] = namespace
    try:
        exec(compile(source, f"<{module}>", "exec"), namespace.__dict__)
    finally:
        del sys.modules[module]
    found = [
        v
        for v in vars(namespace).values()
        if isinstance(v, type) and issubclass(v, ob.Runbook) and v is not ob.Runbook
    ]
    assert len(found) == 1, found
    return found[0]
