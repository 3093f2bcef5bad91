"""The "Decision trees" example of docs/guides/writing-runbooks.md stays true: it defines
a valid tree, and (slow) each of its leaves is reached through the engine with real
``getent`` and ``curl`` against a real HTTP server on loopback."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import opsbooks as ob
from opsbooks.plan.binding import plan
from opsbooks.render.mermaid import render_flow
from opsbooks.testing import Drill
from opsbooks.testing.postgres import free_port

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "writing-runbooks.md"
_FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
L2 = "Platform on-call (#platform)"


def guide_runbook() -> type[ob.Runbook]:
    text = GUIDE.read_text(encoding="utf-8")
    example = _FENCE.findall(text[text.index("## Decision trees") :])[0]
    namespace: dict[str, Any] = {"__name__": "decision_trees_example"}
    exec(compile(example, str(GUIDE), "exec"), namespace)
    book = namespace["WebUnreachable"]
    assert isinstance(book, type) and issubclass(book, ob.Runbook)
    return book


def test_the_guide_example_is_a_valid_tree() -> None:
    book = guide_runbook()
    leaves = ["dns_failed", "refused", "unhealthy", "healthy", "unknown"]
    assert plan(book).ids() == ["resolve", "health", "decide", *leaves]
    flow = render_flow(plan(book))
    assert 'step_unknown(["8. The health check of {host}:{port} failed in an unexpected' in flow
    assert "class step_unknown escalation" in flow


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok\n" if type(self).status == 200 else b"database down\n")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[tuple[http.server.HTTPServer, type[_Health]]]:
    handler = type("Health", (_Health,), {})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def _run(drill: Drill, **params: Any) -> Any:
    book = guide_runbook()
    drill.runbooks = (book,)
    drill.settings = {"contacts": {"L2": L2}}
    result = drill.run(book, params)
    result.assert_succeeded()
    return result


@pytest.mark.slow
@pytest.mark.parametrize(
    ("status", "leaf"), [(200, "healthy"), (503, "unhealthy")], ids=["healthy", "unhealthy"]
)
def test_a_real_health_check_decides_the_leaf(
    drill: Drill, web: tuple[http.server.HTTPServer, type[_Health]], status: int, leaf: str
) -> None:
    server, handler = web
    handler.status = status
    result = _run(drill, host="127.0.0.1", port=server.server_address[1])
    fact = result.fact("diagnosis")
    assert fact is not None and fact.value == leaf
    assert f"the run ended at diagnosis {leaf}" in result.output


@pytest.mark.slow
def test_a_closed_port_and_a_missing_name_reach_their_leaves(drill: Drill) -> None:
    refused = _run(drill, host="127.0.0.1", port=free_port())
    assert refused.report.diagnosis == "refused"
    assert "$ ss -ltnp sport = :" in refused.output
    missing = _run(drill, host="no-such-host.invalid", port=80)
    assert missing.report.diagnosis == "dns_failed"
    assert missing.fact("escalated") is None
