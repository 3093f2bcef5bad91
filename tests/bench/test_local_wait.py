"""The local backend waits on the process itself (issue 18): same results as invoke's loop.

Real ``sh`` commands, so the slow tier. What the direct wait must keep: the exit code
and the whole output, a timeout still kills the command's process group, and a
command writing more than a pipe holds does not deadlock the wait.
"""

from __future__ import annotations

import io

import pytest

from opsbooks.backends.local import LocalBackend
from opsbooks.backends.protocols import CommandSpec

pytestmark = pytest.mark.slow


def test_exit_code_and_all_output_arrive() -> None:
    result = LocalBackend().run(CommandSpec(command="echo out; echo err >&2; exit 3", shown=""))
    assert result.exit_code == 3
    assert "out" in result.stdout and "err" in result.stderr


def test_more_output_than_a_pipe_holds_does_not_block_the_wait() -> None:
    sink = io.StringIO()
    spec = CommandSpec(command="head -c 300000 /dev/zero | tr '\\0' x", shown="")
    result = LocalBackend().run(spec, out=sink)
    assert result.exit_code == 0 and len(result.stdout) == 300000


def test_a_timeout_still_kills_the_command_and_its_children() -> None:
    spec = CommandSpec(command="sleep 30 & sleep 30; wait", shown="", timeout=0.5)
    result = LocalBackend().run(spec)
    assert result.timed_out and not result.ok


def test_many_short_commands_each_report_their_own_exit() -> None:
    backend = LocalBackend()
    codes = [backend.run(CommandSpec(command=f"exit {n}", shown="")).exit_code for n in range(8)]
    assert codes == list(range(8))
