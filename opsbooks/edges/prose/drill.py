"""The drill ``opsbooks new`` writes beside a runbook: it runs the runbook for real.

Every manual step is answered "done" (``yes=True``, what ``--yes`` does), so the drill
proves the runbook imports, plans and runs from start to end; the commands copied from
the prose are skipped, because a drill runs on the test machine, not the system the
prose was written for. The author takes a command off ``SKIPPED`` once it is safe.
"""

from __future__ import annotations

from opsbooks.edges.prose.literals import WIDTH, lit, str_tuple
from opsbooks.edges.prose.model import Prose

_HEAD = '''"""Drill of {name}, written by `opsbooks new`: it runs the runbook for real.

Every manual step is answered "done" (`yes=True`, as `--yes` would); the commands copied
from the prose runbook are skipped until they are safe to run here. The `drill` fixture
comes from the opsbooks pytest plugin (guide "Testing runbooks and DR drills with pytest").
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest
from opsbooks.testing import Drill

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the catalog package lives at the project root
    sys.path.insert(0, str(ROOT))
'''

_FIXTURE = '''

@pytest.fixture
def catalog(drill: Drill) -> Drill:
    """The plugin's `drill` (fresh root, journal, fake clock) on this catalog only."""
    return dataclasses.replace(drill, packages=({package},))


{define}
    result = catalog.run({name}, {{}}, yes=True, skip=SKIPPED)
    result.assert_succeeded()
    for step in MANUAL:
        result.assert_succeeded_step(step)
    for step in SKIPPED:
        result.assert_skipped(step)
'''

_STOPS = """
{define}
    result = catalog.run({name}, {{}}, skip=SKIPPED)
    assert result.outcome == "stopped" and result.exit_code == 3
    result.assert_ran(MANUAL[0])
    assert result.steps[MANUAL[0]] != "succeeded"
"""


def drill_module(prose: Prose, name: str, package: str) -> str:
    """The test module's source for runbook ``name`` of catalog ``package``."""
    steps = prose.all_steps()
    manual = [step.id for step in steps if not step.is_command]
    skipped = [step.id for step in steps if step.is_command]
    slug = name.replace(".", "_")
    lines = [
        _HEAD.format(name=name),
        "#: Steps copied from shell blocks: take one off once it is safe to run in a drill.",
        *str_tuple("", "SKIPPED: tuple[str, ...] =", skipped),
        "#: The steps a person carries out; `yes=True` answers each of them.",
        *str_tuple("", "MANUAL: tuple[str, ...] =", manual),
        _FIXTURE.format(
            package=lit(package),
            define=_define(f"{slug}_runs_with_every_manual_step_done"),
            name=lit(name),
        ),
    ]
    if manual:
        define = _define(f"{slug}_waits_for_a_person_at_its_first_manual_step")
        lines.append(_STOPS.format(define=define, name=lit(name)))
    return "\n".join(lines).rstrip("\n") + "\n"


def _define(test: str) -> str:
    """``def test_...(catalog: Drill) -> None:``, split the way ruff splits a long one."""
    line = f"def test_{test}(catalog: Drill) -> None:"
    return line if len(line) <= WIDTH else f"def test_{test}(\n    catalog: Drill,\n) -> None:"
