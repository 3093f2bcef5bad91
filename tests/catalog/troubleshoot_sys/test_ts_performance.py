"""troubleshoot.performance on this host: real CPU burners, real slow and failing endpoints.

CPU pressure is made real (busy processes, more than the cores), endpoints are real
HTTP servers on loopback (slow, failing, absent). Memory, IO and disk cannot be
exhausted on a shared test machine, so those leaves are reached by a threshold the
host's real reading crosses (IO with a real `dd oflag=dsync` writing meanwhile).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ts_sys_kit import free_port, http_endpoint

from opsbooks.testing import Drill, DrillResult

pytestmark = pytest.mark.slow
NAME = "troubleshoot.performance"
#: thresholds nothing on a test host crosses, so each test opens exactly one leaf
CALM = {
    "sample_seconds": 0.2,
    "cpu_max_pct": 100,
    "mem_min_available_pct": 0,
    "mem_max_psi_pct": 100,
    "io_max_pct": 100,
    "disk_max_pct": 100,
    "inode_max_pct": 100,
    "requests": 5,
}


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


def test_fast_endpoint_on_a_calm_host_is_healthy(drill: Drill, tmp_path: Path) -> None:
    with http_endpoint() as url:
        result = drill.run(NAME, CALM | {"url": url, "disk_path": str(tmp_path)})
    ended_at(result, "healthy")
    assert float(output(result, "p99_ms")) > 0  # measured, and within p99_max_ms (healthy)
    assert output(result, "error_pct") == "0.0"


def test_slow_endpoint_without_pressure_escalates(drill: Drill) -> None:
    with http_endpoint(delay=0.06) as url:
        result = drill.run(NAME, CALM | {"url": url, "p50_max_ms": 30})
    ended_at(result, "slow_endpoint")
    assert float(output(result, "p50_ms")) >= 60
    escalated = result.fact("escalated")
    assert escalated is not None and escalated.value == "L2"
    assert "Platform engineering on-call" in result.output


def test_refused_endpoint_is_down(drill: Drill) -> None:
    result = drill.run(NAME, CALM | {"url": f"http://127.0.0.1:{free_port()}/health"})
    ended_at(result, "endpoint_down")
    result.assert_skipped("host")


def test_failing_endpoint_is_over_its_error_budget(drill: Drill) -> None:
    with http_endpoint(status=503) as url:
        result = drill.run(NAME, CALM | {"url": url})
    ended_at(result, "endpoint_errors")
    assert output(result, "error_pct") == "100.0"
    assert "503: 5" in output(result, "errors")


@pytest.fixture
def burners() -> Iterator[list[int]]:
    """More busy processes than cores: tasks queue for CPU, so CPU pressure is real."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range((os.cpu_count() or 1) * 2)
    ]
    yield [p.pid for p in procs]
    for proc in procs:
        proc.kill()
        proc.wait()


def test_cpu_burners_saturate_the_cpu(drill: Drill, burners: list[int]) -> None:
    result = drill.run(NAME, CALM | {"cpu_max_pct": 10, "sample_seconds": 1})
    ended_at(result, "cpu_saturated")
    assert float(output(result, "cpu_pct")) > 10
    assert set(output(result, "top_pids").split(",")) & {str(pid) for pid in burners}
    result.assert_skipped("route_memory")


def test_available_memory_under_the_floor_is_low(drill: Drill) -> None:
    result = drill.run(NAME, CALM | {"mem_min_available_pct": 100})
    ended_at(result, "memory_low")
    assert 0 < float(output(result, "mem_available_pct")) < 100


@pytest.mark.skipif(not Path("/proc/pressure/io").exists(), reason="no IO PSI on this kernel")
def test_synchronous_writes_make_io_pressure(drill: Drill, tmp_path: Path) -> None:
    writer = subprocess.Popen(
        ["dd", "if=/dev/zero", f"of={tmp_path / 'fill'}", "bs=64k", "count=100000", "oflag=dsync"],
        stderr=subprocess.DEVNULL,
    )
    try:
        result = drill.run(NAME, CALM | {"io_max_pct": 0.5, "sample_seconds": 1})
    finally:
        writer.kill()
        writer.wait()
    ended_at(result, "io_pressure")
    assert float(output(result, "io_pct")) > 0.5


def test_used_space_over_the_limit_is_disk_full(drill: Drill, tmp_path: Path) -> None:
    result = drill.run(NAME, CALM | {"disk_path": str(tmp_path), "disk_max_pct": 0})
    ended_at(result, "disk_full")
    assert f"df -h {tmp_path}" in result.output


def test_used_inodes_over_the_limit_are_exhausted(drill: Drill, tmp_path: Path) -> None:
    result = drill.run(NAME, CALM | {"disk_path": str(tmp_path), "inode_max_pct": 0})
    ended_at(result, "inodes_exhausted")


def test_params_are_checked_before_anything_runs(drill: Drill) -> None:
    from opsbooks import ParamsError

    with pytest.raises(ParamsError) as caught:
        drill.run(NAME, {"url": "ftp://example.com/x"})
    assert "url" in str(caught.value)
