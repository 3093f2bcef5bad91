"""Probe an MCP server the way a client does: start or reach it, initialize, list, call.

Uses the official ``mcp`` SDK: ``mcp.client.stdio`` starts the server command and
speaks JSON-RPC over its stdin/stdout; ``mcp.client.streamable_http`` posts to the
streamable HTTP endpoint. Each transport is walked through the same phases, and the
first one that fails names the finding (``mcp_status``):

    not_found     the stdio command does not exist            (start)
    exited        the server process exited before answering  (initialize, stdio)
    refused       nothing listens at the HTTP endpoint        (initialize, http)
    http_404      the HTTP server answers, but not MCP at that path
    http_error    another HTTP-level failure
    timeout       no answer to ``initialize`` within --timeout
    no_tools      ``tools/list`` is empty (or fails)
    tool_missing  the expected tool is not listed
    tool_error    calling the expected tool errors
    ok            every phase passed
"""

from __future__ import annotations

import json
import shlex
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, TextIO, cast

import anyio

from opsbooks.actions import Arg, Result
from opsbooks_playbooks.actions import UsageError, program


@dataclass
class Probe:
    """What one transport's probe found; ``status`` stays empty until a verdict."""

    transport: str
    phase: str = "start"
    status: str = ""
    detail: str = ""
    server: str = "-"
    protocol: str = "-"
    tools: list[str] = field(default_factory=list)

    def found(self, status: str, detail: str) -> None:
        if not self.status:
            self.status, self.detail = status, " ".join(detail.split())[:300]


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")


def classify(probe: Probe, exc: BaseException, stderr_tail: str = "") -> None:
    """Turn the exception that ended ``probe`` in its phase into a finding."""
    leaves = _leaves(exc)
    first = leaves[0]
    names = {type(leaf).__name__ for leaf in leaves}
    text = " ".join(str(leaf) for leaf in leaves)
    if any(isinstance(leaf, TimeoutError) for leaf in leaves):
        probe.found("timeout", f"no answer to {probe.phase} within the timeout")
    elif probe.phase == "start":
        probe.found("not_found", _describe(first))
    elif probe.phase == "initialize" and probe.transport == "stdio":
        probe.found("exited", stderr_tail or _describe(first))
    elif probe.phase == "initialize" and ("ConnectError" in names or "refused" in text.lower()):
        probe.found("refused", _describe(first))
    elif probe.phase == "initialize" and ("Not Found" in text or "404" in text):
        probe.found("http_404", _describe(first))
    elif probe.phase == "initialize":
        probe.found("http_error", _describe(first))
    elif probe.phase == "list_tools":
        probe.found("no_tools", f"tools/list failed: {_describe(first)}")
    else:
        probe.found("tool_error", _describe(first))


async def _session_steps(
    probe: Probe, streams: Any, timeout: float, tool: str, arguments: dict[str, Any]
) -> None:
    from mcp.client.session import ClientSession

    read, write = streams
    async with ClientSession(read, write) as session:
        probe.phase = "initialize"
        with anyio.fail_after(timeout):
            init = await session.initialize()
        probe.server = f"{init.server_info.name} {init.server_info.version}".strip()
        probe.protocol = init.protocol_version
        probe.phase = "list_tools"
        with anyio.fail_after(timeout):
            listed = await session.list_tools()
        probe.tools = sorted(t.name for t in listed.tools)
        if not probe.tools:
            probe.found("no_tools", f"{probe.server} lists no tools")
            return
        if not tool:
            probe.found("ok", f"{len(probe.tools)} tools listed; no tool named to call")
            return
        if tool not in probe.tools:
            probe.found("tool_missing", f"{tool} is not among: {', '.join(probe.tools)}")
            return
        probe.phase = "call_tool"
        with anyio.fail_after(timeout):
            result = await session.call_tool(tool, arguments)
        texts = [getattr(c, "text", "") for c in getattr(result, "content", [])]
        if getattr(result, "is_error", False):
            probe.found("tool_error", f"{tool} returned an error: {' '.join(texts)}")
        else:
            probe.found("ok", f"{tool} answered: {' '.join(texts)[:120]}")


async def _run(probe: Probe, opened: AbstractAsyncContextManager[Any], *args: Any) -> None:
    async with opened as streams:
        await _session_steps(probe, streams, *args)


def _stdio_context(argv: list[str], errlog: IO[str]) -> AbstractAsyncContextManager[Any]:
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=argv[0], args=argv[1:])
    return stdio_client(params, errlog=cast(TextIO, errlog))


def _http_context(url: str) -> AbstractAsyncContextManager[Any]:
    from mcp.client.streamable_http import streamable_http_client

    return streamable_http_client(url)


def probe_stdio(command: str, timeout: float, tool: str, arguments: dict[str, Any]) -> Probe:
    """Start ``command`` and walk it through initialize, tools/list and one tool call."""
    probe = Probe("stdio")
    argv = shlex.split(command)
    if not argv or (shutil.which(argv[0]) is None and not Path(argv[0]).is_file()):
        probe.found("not_found", f"command not found: {argv[0] if argv else '(empty)'}")
        return probe
    with tempfile.TemporaryFile("w+") as errlog:
        try:
            anyio.run(_run, probe, _stdio_context(argv, errlog), timeout, tool, arguments)
        except BaseException as exc:  # the SDK raises exception groups of anything
            if isinstance(exc, KeyboardInterrupt):
                raise
            errlog.seek(0)
            tail = " ".join(errlog.read().strip().splitlines()[-3:])
            classify(probe, exc, f"the server exited: {tail}" if tail else "")
    return probe


def probe_http(url: str, timeout: float, tool: str, arguments: dict[str, Any]) -> Probe:
    """POST ``initialize`` to ``url`` (streamable HTTP), then list the tools and call one."""
    probe = Probe("http")
    probe.phase = "initialize"
    try:
        anyio.run(_run, probe, _http_context(url), timeout, tool, arguments)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        classify(probe, exc)
    if probe.status in ("http_404", "http_error"):
        probe.detail = f"{probe.detail}; a plain POST of initialize answers {http_status(url)}"
    return probe


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "opsbooks-probe", "version": "1"},
    },
}


def http_status(url: str, timeout: float = 5.0) -> str:
    """POST an initialize request without the SDK: the HTTP status line the SDK hides."""
    request = urllib.request.Request(
        url,
        data=json.dumps(INITIALIZE).encode(),
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"HTTP {response.status} {response.reason}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except (OSError, ValueError) as exc:
        return f"no HTTP answer ({exc})"


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError as exc:
        raise UsageError(
            f'--arguments is not JSON ({exc}); give an object like {{"q": 1}}'
        ) from None
    if not isinstance(value, dict):
        raise UsageError('--arguments must be a JSON object, like {"text": "ping"}')
    return value


def check(
    command: Annotated[str, Arg(help="the stdio server's command line (empty: skip stdio)")] = "",
    url: Annotated[str, Arg(help="the streamable HTTP endpoint (empty: skip HTTP)")] = "",
    tool: Annotated[str, Arg(help="a tool the server must list and answer")] = "",
    arguments: Annotated[str, Arg(help="the tool call's arguments, a JSON object")] = "{}",
    timeout: Annotated[float, Arg(help="seconds each phase may take")] = 10.0,
) -> Result:
    """Probe stdio, then HTTP; publish the first finding as ``mcp_status``."""
    if not command and not url:
        raise UsageError("give --command (stdio), --url (streamable HTTP) or both")
    args = _arguments(arguments)
    probes = []
    if command:
        probes.append(probe_stdio(command, timeout, tool, args))
    if url and (not probes or probes[0].status == "ok"):
        probes.append(probe_http(url, timeout, tool, args))
    lines = [
        f"{p.transport}: {p.status} in {p.phase} ({p.detail}); server {p.server}, "
        f"protocol {p.protocol}, tools: {', '.join(p.tools) or 'none'}"
        for p in probes
    ]
    worst = next((p for p in probes if p.status != "ok"), probes[-1])
    return Result(
        "\n".join(lines),
        {
            "mcp_status": worst.status or "tool_error",
            "transport": worst.transport,
            "detail": worst.detail or "-",
            "server": worst.server,
            "protocol": worst.protocol,
            "tools": ",".join(worst.tools) or "-",
            "executable": shlex.split(command)[0] if command.strip() else "-",
        },
    )


PROGRAM = program("diagnose.mcp_probe", __doc__)
PROGRAM.command(check)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m opsbooks_playbooks.actions.diagnose.mcp_probe``."""
    return PROGRAM.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
