"""change.maintenance against a real upstream file, flag file and loopback health endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from change_kit import health_server, notify_settings, utc

from opsbooks.testing import Drill, FakeClock
from opsbooks.testing.webhook import RecordingWebhook
from opsbooks_playbooks.change.maintenance import ChangeMaintenance

pytestmark = pytest.mark.slow

UPSTREAM = """upstream app {
    server 10.0.0.6:8080 max_fails=3;
    server 10.0.0.7:8080 max_fails=3;
}
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, Any]]:
    upstream = tmp_path / "app.conf"
    upstream.write_text(UPSTREAM)
    flag = tmp_path / "maintenance.flag"
    with health_server(flag) as url:
        yield {"upstream": upstream, "flag": flag, "url": url}


def params(site: dict[str, Any], **over: str) -> dict[str, Any]:
    return {
        "change_id": "CHG-2001",
        "window_start": utc(minutes=-10),
        "window_end": utc(hours=2),
        "service": "billing-api",
        "server": "10.0.0.7:8080",
        "upstream_file": str(site["upstream"]),
        "flag_file": str(site["flag"]),
        "health_url": site["url"],
        "work": "apt-get upgrade on 10.0.0.7, then reboot",
        **over,
    }


def health(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())["status"]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())["status"]


def make_drill(tmp_path: Path, hook: RecordingWebhook, clock: FakeClock) -> Drill:
    root = tmp_path / "proj"
    root.mkdir(exist_ok=True)
    return Drill(
        root=root, runbooks=(ChangeMaintenance,), settings=notify_settings(hook), clock=clock
    )


def test_drains_waits_at_the_gate_then_reopens(
    tmp_path: Path, site: dict[str, Any], webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    values = params(site)
    stopped = drill.run(ChangeMaintenance, values, answers={"do_work": "done"})
    assert stopped.outcome == "stopped" and stopped.exit_code == 3
    # mid-window: the server is out of the upstream and the endpoint says draining
    assert "server 10.0.0.7:8080 max_fails=3 down;" in site["upstream"].read_text()
    assert "server 10.0.0.6:8080 max_fails=3;" in site["upstream"].read_text()
    assert site["flag"].read_text() == "maintenance CHG-2001\n"
    assert health(site["url"]) == (503, "draining")
    stopped.assert_succeeded_step("drained")
    executed = stopped.fact("change.executed")
    assert executed is not None and executed.who == "drill"

    done = drill.resume(stopped.run_id, answers={"work_verified": True})
    done.assert_succeeded()
    assert site["upstream"].read_text() == UPSTREAM
    assert not site["flag"].exists()
    assert health(site["url"]) == (200, "ok")
    texts = webhook.texts()
    assert values["window_start"] in texts[0] and values["window_end"] in texts[0]
    assert "back in traffic" in texts[-1]


def test_unhealthy_after_reopen_rolls_back_to_the_start(
    tmp_path: Path, site: dict[str, Any], webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(
        ChangeMaintenance,
        params(site),
        answers={"do_work": "done", "work_verified": True},
        fail={"healthy": "rehearse a broken server"},
    )
    assert result.outcome == "rolled_back"
    result.assert_compensated("reopen")
    result.assert_compensated("drain")
    assert site["upstream"].read_text() == UPSTREAM
    assert not site["flag"].exists()


def test_outside_the_window_touches_nothing(
    tmp_path: Path, site: dict[str, Any], webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    start, end = utc(hours=3), utc(hours=5)
    result = drill.run(ChangeMaintenance, params(site, window_start=start, window_end=end))
    assert result.outcome in ("failed", "rolled_back")
    assert "before the change window opens" in result.output and start in result.output
    result.assert_not_ran("drain")
    assert site["upstream"].read_text() == UPSTREAM and not site["flag"].exists()
    assert webhook.texts() == []


def test_unknown_server_fails_with_the_servers_listed(
    tmp_path: Path, site: dict[str, Any], webhook: RecordingWebhook, fake_clock: FakeClock
) -> None:
    drill = make_drill(tmp_path, webhook, fake_clock)
    result = drill.run(ChangeMaintenance, params(site, server="10.0.0.9:8080"))
    assert result.report.failed_step == "drain"
    assert "10.0.0.6:8080, 10.0.0.7:8080" in result.output
    assert site["upstream"].read_text() == UPSTREAM
