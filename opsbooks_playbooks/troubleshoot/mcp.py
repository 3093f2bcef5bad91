"""Find why an MCP server does not serve its clients: start, initialize, tools, a tool call."""

from __future__ import annotations

import json
from typing import Any

from pydantic import model_validator

import opsbooks as ob

_HTTP_INIT = (
    "curl -sS -i -X POST {url} -H 'Content-Type: application/json' "
    "-H 'Accept: application/json, text/event-stream' --data "
    '\'{{"jsonrpc":"2.0","id":1,"method":"initialize","params":'
    '{{"protocolVersion":"2025-06-18","capabilities":{{}},'
    '"clientInfo":{{"name":"curl","version":"1"}}}}}}\''
)


class Mcp(ob.Runbook):
    """Diagnose an MCP server that clients cannot use, over stdio, streamable HTTP or both.

    Use it when an AI client reports that an MCP server "failed to start", "timed out",
    shows no tools or fails its tool calls. The run acts as an MCP client with the
    official SDK: it starts the stdio server `command` (or posts to the streamable
    HTTP `url`), sends `initialize`, lists the tools, checks that `tool` is among them
    and calls it with `arguments`. The first phase that fails ends the run at its
    diagnosis; a server whose tool errors is escalated to its owners.
    """

    title = "Troubleshoot MCP Servers"
    owner = "AI platform team"
    scope = (
        "MCP servers our clients and agents use: local stdio servers started by a "
        "command line, and remote servers on the streamable HTTP transport. Not for "
        "network reachability of a remote host in general: use troubleshoot.connectivity; "
        "not for OAuth or token problems: use troubleshoot.authentication."
    )
    prerequisites = [
        "The server's command line exactly as the client's configuration has it, "
        "and/or its streamable HTTP URL (usually ending in /mcp)",
        "The name of a tool the server must offer, and arguments safe to call it with "
        "(a read-only tool: the run really calls it)",
        "This runbook's Python environment with the `mcp` SDK (opsbooks installs it)",
    ]
    verification = [
        "The run ends at the diagnosis healthy: initialize, tools/list and the tool call pass",
        "The AI client lists the server's tools again and a tool call succeeds from it",
    ]
    troubleshooting = [
        ob.Trouble(
            symptom="healthy here, but the client still says the server failed to start",
            cause=(
                "The client starts the server with another PATH, working directory or "
                "environment (GUI apps do not read your shell profile)."
            ),
            solution=(
                "Put the absolute path of the executable in the client's configuration "
                "and pass the variables it needs in its `env`."
            ),
        ),
        ob.Trouble(
            symptom="init_timeout on a server that works when started by hand",
            cause=(
                "It prints logs or a banner on stdout, which corrupts the JSON-RPC stream, "
                "or waits for input (a prompt, a login) before serving."
            ),
            solution="Send the server's logs to stderr; give it its credentials by environment.",
        ),
        ob.Trouble(
            symptom="http_not_found although the server runs",
            cause="The MCP endpoint path differs (`/mcp` versus `/mcp/` or `/sse`).",
            solution="Read the server's startup log for the path it mounts and fix `url`.",
        ),
    ]
    recovery = (
        "The tree starts the stdio server for the probe and stops it afterwards, posts "
        "an initialize and one tool call to the HTTP server, and changes nothing else. "
        "Choose a read-only tool to call. Nothing needs to be undone."
    )
    related = ["troubleshoot.connectivity", "troubleshoot.authentication"]
    last_reviewed = "2026-12-02"
    review_every_days = 90
    changelog = [
        ob.Change(
            "2026-12-02", "First version: stdio and streamable HTTP, tools, a tool call", "ai"
        )
    ]

    class Params(ob.Params):
        command: str = ob.Field(
            "",
            description="The stdio server's command line, as the client runs it (empty: skip)",
        )
        url: str = ob.Field(
            "",
            pattern=r"^(https?://[^\s]+)?$",
            description="The streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp",
        )
        tool: str = ob.Field(
            "",
            pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)?$",
            description="A tool the server must list and answer (empty: only list the tools)",
        )
        arguments: str = ob.Field("{}", description="The tool call's arguments, a JSON object")
        timeout: float = ob.Field(
            10.0, gt=0, le=300, description="Seconds each phase (initialize, list, call) may take"
        )

        @model_validator(mode="after")
        def _something_to_probe(self) -> Any:
            if not self.command and not self.url:
                raise ValueError(
                    "give the stdio server's command line (--command), its streamable "
                    "HTTP URL (--url), or both"
                )
            try:
                arguments = json.loads(self.arguments)
            except ValueError as exc:
                raise ValueError(f"--arguments is not JSON ({exc}); give an object") from None
            if not isinstance(arguments, dict):
                raise ValueError('--arguments must be a JSON object, like {"text": "ping"}')
            return self

    probe = ob.Command(
        [
            *("python", "-m", "opsbooks_playbooks.actions.diagnose.mcp_probe", "check"),
            *("--command={command}", "--url={url}", "--tool={tool}"),
            *("--arguments={arguments}", "--timeout={timeout}"),
        ],
        outputs=("mcp_status", "transport", "detail", "server", "protocol", "tools", "executable"),
        title="Probe the server as an MCP client",
        description=(
            "stdio first, then streamable HTTP: start or connect, initialize, tools/list, "
            "the tool call."
        ),
        timeout="10m",
        idempotent=True,
        rerun_on_resume=True,
    )
    route = ob.Branch(
        cases=[
            ("outputs.mcp_status == 'not_found'", "server_not_found"),
            ("outputs.mcp_status == 'exited'", "server_exits"),
            ("outputs.mcp_status == 'timeout'", "init_timeout"),
            ("outputs.mcp_status == 'refused'", "http_refused"),
            ("outputs.mcp_status == 'http_404'", "http_not_found"),
            ("outputs.mcp_status == 'http_error'", "http_error"),
            ("outputs.mcp_status == 'no_tools'", "no_tools"),
            ("outputs.mcp_status == 'tool_missing'", "tool_missing"),
            ("outputs.mcp_status == 'tool_error'", "tool_error"),
        ],
        title="Which phase failed?",
    )
    healthy = ob.Diagnosis(
        "{outputs.server} answers initialize (protocol {outputs.protocol}) over "
        "{outputs.transport}, lists its tools ({outputs.tools}) and answers a tool call",
        resolution=(
            "The server works from here. If a client still fails, compare its "
            "configuration (command, env, URL, headers) with what this run used."
        ),
        commands=["opsbooks report {run_id}"],
        title="MCP server healthy",
    )
    server_not_found = ob.Diagnosis(
        "The stdio server cannot start: {outputs.detail}",
        resolution=(
            "The executable is not installed or not on the PATH the client uses. "
            "Install it, or put its absolute path in the client's configuration."
        ),
        commands=["command -v {outputs.executable}", "ls -l {outputs.executable}", "echo $PATH"],
        title="Server command not found",
    )
    server_exits = ob.Diagnosis(
        "The stdio server exits before answering initialize: {outputs.detail}",
        resolution=(
            "Run the command by hand and read its stderr: a missing setting or "
            "credential, a bad argument, or a missing dependency. Fix it, then rerun."
        ),
        commands=["sh -c -- {command} < /dev/null; echo exit=$?"],
        title="Server exits at start",
    )
    init_timeout = ob.Diagnosis(
        "No answer to initialize over {outputs.transport} within {timeout}s: {outputs.detail}",
        resolution=(
            "The server started but does not speak MCP on that channel: it waits for "
            "something (a prompt, a lock, a slow dependency at startup) or writes "
            "non-JSON to stdout. Check its stderr log and what it waits on."
        ),
        commands=["ps -eo pid,stat,etime,args | grep -i mcp", _HTTP_INIT],
        title="Initialize times out",
    )
    http_refused = ob.Diagnosis(
        "Nothing accepts connections at {url}: {outputs.detail}",
        resolution="The HTTP server is not running or listens on another address or port.",
        commands=["ss -ltnp", "curl -sS -v {url}"],
        title="HTTP endpoint refused",
    )
    http_not_found = ob.Diagnosis(
        "The server at {url} answers HTTP but has no MCP endpoint at that path (404)",
        resolution="Fix the path in the client's URL: the server mounts MCP elsewhere.",
        commands=[_HTTP_INIT],
        title="HTTP endpoint not found",
    )
    http_error = ob.Diagnosis(
        "The HTTP endpoint {url} fails initialize: {outputs.detail}",
        resolution=(
            "Read the status and body: 401/403 is authentication "
            "(troubleshoot.authentication), 5xx a server fault for its owners."
        ),
        commands=[_HTTP_INIT],
        escalate="L2",
        title="HTTP endpoint error",
    )
    no_tools = ob.Diagnosis(
        "{outputs.server} initializes over {outputs.transport} but lists no tools: "
        "{outputs.detail}",
        resolution=(
            "The server registered no tools: a plugin or configuration that enables them "
            "did not load, or it needs credentials to offer them. Read its startup log."
        ),
        commands=["opsbooks report {run_id}"],
        title="No tools",
    )
    tool_missing = ob.Diagnosis(
        "{outputs.server} over {outputs.transport} does not offer {tool}: {outputs.detail}",
        resolution=(
            "The client expects a tool this server version does not have: it was renamed, "
            "removed, or disabled by configuration. Compare the server's version and "
            "changelog with the client's expectations."
        ),
        commands=["opsbooks report {run_id}"],
        title="Expected tool missing",
    )
    tool_error = ob.Diagnosis(
        "Calling {tool} on {outputs.server} over {outputs.transport} fails: {outputs.detail}",
        resolution=(
            "The server works but the tool fails inside: a bug, or a backend it calls "
            "is down. Hand over to the server's owners with the server's log and this run."
        ),
        commands=["opsbooks report {run_id}"],
        escalate="L2",
        title="Tool call fails",
    )
