"""A small MCP server for the troubleshoot.mcp drills, built with the official SDK.

    python mcp_server.py --mode ok                      # stdio, tool "echo"
    python mcp_server.py --mode ok --http PORT          # streamable HTTP on 127.0.0.1:PORT/mcp
    python mcp_server.py --mode all --http PORT         # every serving mode, at /MODE/mcp

Modes: ``ok`` (tool ``echo``), ``notools`` (none), ``other`` (only ``ping``),
``raise`` (``echo`` raises), ``hang`` (never answers; exits when stdin closes),
``crash`` (exits 3 at start with a message on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any


def build(mode: str) -> Any:
    """The server for ``mode`` (the SDK is imported only by modes that serve)."""
    from mcp.server.mcpserver import MCPServer

    app = MCPServer("drill-mcp")
    if mode in ("ok", "raise"):

        @app.tool()
        def echo(text: str) -> str:
            """Return ``text``."""
            if mode == "raise":
                raise RuntimeError("the search backend is unavailable")
            return text

    elif mode == "other":

        @app.tool()
        def ping() -> str:
            """Answer pong."""
            return "pong"

    return app


def serve_all(port: int) -> None:
    """One HTTP server, one MCP app per serving mode, each at ``/MODE/mcp``."""
    import contextlib
    from collections.abc import AsyncIterator

    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    apps = {mode: build(mode).streamable_http_app() for mode in ("ok", "notools", "other", "raise")}

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    root = Starlette(routes=[Mount(f"/{m}", app=a) for m, a in apps.items()], lifespan=lifespan)
    uvicorn.run(root, host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="ok")
    parser.add_argument("--http", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "crash":
        print("fatal: DRILL_API_KEY is not set", file=sys.stderr)
        raise SystemExit(3)
    if args.mode == "hang":  # stuck at startup: reads nothing, until its client hangs up
        sys.stdin.buffer.read()
        time.sleep(0.1)
        raise SystemExit(0)
    if args.mode == "all":
        serve_all(args.http)
        return
    app = build(args.mode)
    if args.http:
        app.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        app.run()


if __name__ == "__main__":
    main()
