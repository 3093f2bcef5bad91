"""A long, quiet step still tells the operator it is alive."""

from __future__ import annotations

import io
import time

import pytest

from opsbooks.edges.console import Console
from opsbooks.records.redaction import Redactor

pytestmark = pytest.mark.slow  # waits in real time for the heartbeat


def test_heartbeat_speaks_while_a_step_is_quiet_and_stops_after() -> None:
    out = io.StringIO()
    console = Console(out, Redactor())
    with console.heartbeat("restore", every=0.05):
        time.sleep(0.18)
    said = out.getvalue()
    assert said.count("restore still running") >= 2
    time.sleep(0.1)
    assert out.getvalue() == said, "the heartbeat must stop with the step"
