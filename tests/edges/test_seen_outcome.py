"""How history and report show a run whose row still says ``running``."""

from __future__ import annotations

import os
import socket

from opsbooks.edges.cli.records import as_seen
from opsbooks.records.journal import RunRecord


def _record(pid: int, host: str, outcome: str = "running") -> RunRecord:
    return RunRecord("r1", "rb", "f", {}, {}, "me", host, pid, 0.0, outcome=outcome)


def test_a_running_row_whose_pid_is_gone_here_is_shown_interrupted() -> None:
    seen = as_seen(_record(0, socket.gethostname()))  # pid 0 names no process
    assert seen.outcome == "interrupted" and seen.reason == "crashed: pid 0 is gone"


def test_a_live_run_another_hosts_run_and_a_finished_run_are_shown_as_recorded() -> None:
    for record in (
        _record(os.getpid(), socket.gethostname()),
        _record(0, "elsewhere.example"),
        _record(0, socket.gethostname(), outcome="failed"),
    ):
        assert as_seen(record) == record
