"""Fast checks of what the OS would refuse later: argv length and UTF-8 (edges/limits.py),
and an audit file the disk stops accepting (records/audit.py)."""

from __future__ import annotations

import resource
import signal
from pathlib import Path

import pytest

import opsbooks as ob
from opsbooks.edges.limits import MAX_ARG_STRLEN, check_argv_lengths, check_utf8
from opsbooks.errors import BadInput, Interrupted
from opsbooks.records.audit import AuditLog, anchor_text, verify
from opsbooks.records.redaction import Redactor


class Echo(ob.Runbook):
    """say passes msg to a command."""

    name = "lim.echo"
    scope = "nothing"
    owner = "Reliability"
    last_reviewed = "2026-11-01"

    class Params(ob.Params):
        msg: str = "hi"

    say = ob.Command("printf %s {msg}")


def _check(msg: str) -> None:
    params = Echo.Params(msg=msg)
    check_argv_lengths(ob.plan(Echo, params), params.model_dump())


def test_a_command_just_under_the_argv_string_limit_passes() -> None:
    _check("x" * (MAX_ARG_STRLEN - 1 - len("printf %s ")))


def test_a_command_over_the_argv_string_limit_is_refused_naming_the_param() -> None:
    with pytest.raises(BadInput) as caught:
        _check("x" * 200_000)
    message = str(caught.value)
    assert "step say" in message and "--msg" in message and "131072" in message
    assert "Nothing was run" in message and "x" * 100 not in message


def test_surrogate_escaped_argv_bytes_are_refused_with_the_byte() -> None:
    with pytest.raises(
        BadInput, match=r"--msg\) is not valid UTF-8 text: byte 0xff at character 3"
    ):
        check_utf8("lim.echo", {"msg": "ok\udcff\udcfe"})
    check_utf8("lim.echo", {"msg": ["fine", {"k": "ünïcode"}], "n": 3})


def test_an_audit_write_the_disk_refuses_stops_the_run_at_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "r1.jsonl"
    anchors: list[str] = []
    log = AuditLog(path, "r1", Redactor(), anchor=anchors.append)
    log.write("run_started", runbook="lim.echo")
    size = path.stat().st_size
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, hard))  # no room for a whole line
    try:
        with pytest.raises(Interrupted, match=r"could not be written .*opsbooks resume r1"):
            log.write("step_started", step="say", pad="y" * 200)
        log.write("run_finished", outcome="interrupted")  # dropped, never half written
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    log.close()
    assert path.stat().st_size == size
    assert (log.lines, anchors[-1]) == (1, anchor_text(log.head, 1))
    assert verify(path, anchors[-1]).ok
    resumed = AuditLog(path, "r1", Redactor(), expected=anchors[-1])
    resumed.write("run_resumed")
    resumed.close()
    assert verify(path).ok and verify(path).lines == 2
