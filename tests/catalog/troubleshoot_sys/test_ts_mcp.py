"""troubleshoot.mcp against a real MCP server (the SDK's MCPServer): one test per leaf.

The drill server (``mcp_server.py``) is started for real, over stdio by the probe
itself and over streamable HTTP on 127.0.0.1 by a module fixture (one process, one
MCP app per mode at ``/MODE/mcp``); its modes make each fault true: no tools, the
expected tool missing, a tool that raises, a server that exits at start or never
answers; plus an HTTP port with nothing on it and a path with no MCP endpoint.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator

import pytest
from ts_sys_kit import MCP_SERVER, free_port, http_endpoint, mcp_http_server

from opsbooks import ParamsError
from opsbooks.testing import Drill, DrillResult

pytestmark = pytest.mark.slow
NAME = "troubleshoot.mcp"
ECHO = {"tool": "echo", "arguments": '{"text": "ping"}', "timeout": 8}


def stdio(mode: str) -> str:
    return shlex.join([sys.executable, str(MCP_SERVER), "--mode", mode])


def ended_at(result: DrillResult, leaf: str) -> None:
    result.assert_succeeded()
    fact = result.fact("diagnosis")
    assert fact is not None and fact.value == leaf, result.output


def output(result: DrillResult, name: str) -> str:
    for record in result.transitions:
        values = (record.detail or {}).get("outputs") or {}
        if name in values:
            return str(values[name])
    raise AssertionError(f"no output {name}")


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    with mcp_http_server("all") as base:
        yield base


def test_healthy_over_stdio_and_http(drill: Drill, http_base: str) -> None:
    result = drill.run(NAME, ECHO | {"command": stdio("ok"), "url": f"{http_base}/ok/mcp"})
    ended_at(result, "healthy")
    assert output(result, "tools") == "echo"
    assert output(result, "transport") == "http"  # stdio passed first, then HTTP
    assert "stdio: ok in call_tool (echo answered: ping)" in result.output


def test_missing_command_does_not_start(drill: Drill) -> None:
    result = drill.run(NAME, ECHO | {"command": "no-such-mcp-server --stdio"})
    ended_at(result, "server_not_found")
    assert output(result, "executable") == "no-such-mcp-server"


def test_server_exiting_at_start(drill: Drill) -> None:
    result = drill.run(NAME, ECHO | {"command": stdio("crash")})
    ended_at(result, "server_exits")
    assert "DRILL_API_KEY is not set" in output(result, "detail")


def test_server_that_never_answers_times_out(drill: Drill) -> None:
    result = drill.run(NAME, ECHO | {"command": stdio("hang"), "timeout": 0.5})
    ended_at(result, "init_timeout")
    assert output(result, "transport") == "stdio"


def test_server_without_tools(drill: Drill, http_base: str) -> None:
    result = drill.run(NAME, ECHO | {"url": f"{http_base}/notools/mcp"})
    ended_at(result, "no_tools")


def test_server_without_the_expected_tool(drill: Drill, http_base: str) -> None:
    result = drill.run(NAME, ECHO | {"url": f"{http_base}/other/mcp"})
    ended_at(result, "tool_missing")
    assert "echo is not among: ping" in output(result, "detail")


def test_tool_that_raises_escalates(drill: Drill, http_base: str) -> None:
    result = drill.run(NAME, ECHO | {"url": f"{http_base}/raise/mcp"})
    ended_at(result, "tool_error")
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"


def test_http_port_with_nothing_listening_is_refused(drill: Drill) -> None:
    result = drill.run(NAME, ECHO | {"url": f"http://127.0.0.1:{free_port()}/mcp"})
    ended_at(result, "http_refused")


def test_http_wrong_path_is_not_found(drill: Drill, http_base: str) -> None:
    result = drill.run(NAME, ECHO | {"url": f"{http_base}/ok/not-mcp"})
    ended_at(result, "http_not_found")
    assert "answers HTTP 404" in output(result, "detail")


def test_nothing_to_probe_is_bad_input(drill: Drill) -> None:
    with pytest.raises(ParamsError) as caught:
        drill.run(NAME, {"tool": "echo"})
    assert "--command" in str(caught.value) and "--url" in str(caught.value)


def test_plain_web_server_is_an_http_error(drill: Drill) -> None:
    with http_endpoint() as url:  # a real web server that only knows GET: POST gets 501
        result = drill.run(NAME, ECHO | {"url": url})
    ended_at(result, "http_error")
    assert "answers HTTP 501" in output(result, "detail")
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"
